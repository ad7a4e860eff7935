// Command claudebridge serves the Anthropic Messages API from AWS Bedrock or
// the Anthropic API, and carries emulators of both.
//
//	claudebridge serve               the gateway
//	claudebridge emulate bedrock     the Bedrock runtime emulator
//	claudebridge emulate anthropic   the Anthropic API emulator
//	claudebridge users add NAME      a user of the chat
//	claudebridge batch --in --out    a JSONL file of Messages calls, resumable
//	claudebridge keys create --name N  a virtual key, with its limits
//	claudebridge migrate --from --to   every record into another store
//	claudebridge --version           the build: version, commit, Go release
//
// With no command and AWS_LAMBDA_RUNTIME_API set (Lambda's provided.al2023
// runtime starting `bootstrap`), it is a Lambda function behind a Function
// URL, serving what serve serves.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `claudebridge: the Anthropic Messages API in front of AWS Bedrock or the Anthropic API.

Usage:
  claudebridge serve [flags]               run the gateway (settings from the environment)
  claudebridge emulate bedrock [flags]     run the Bedrock runtime emulator
  claudebridge emulate anthropic [flags]   run the Anthropic API emulator
  claudebridge users add NAME | list       manage the chat's users
  claudebridge batch --in F --out F        run a JSONL file of Messages calls (resumable)
  claudebridge keys create | list | revoke manage the virtual keys of the API doors
  claudebridge usage [--by key|user|model|day] [--from D --to D]
                                           sum the ledger of calls and their cost
  claudebridge migrate --from URL --to URL copy every record into another store (SQLite to PostgreSQL)
  claudebridge --version                   say which build this is

Run "claudebridge <command> --help" for a command's flags and settings.
`

func main() {
	// The first Ctrl-C or SIGTERM asks for a graceful shutdown (ctx ends);
	// a second one exits at once.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-signals
		cancel()
		<-signals
		fmt.Fprintln(os.Stderr, "claudebridge: second signal: exiting now")
		os.Exit(1)
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "claudebridge:", err)
		os.Exit(1)
	}
}

// run runs the command args names. Help and the version go to stdout,
// usage mistakes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if api := os.Getenv(runtimeAPIVariable); len(args) == 0 && api != "" {
		return lambdaFunction(ctx, api, stderr)
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "emulate":
		return emulate(ctx, args[1:], stdout, stderr)
	case "users":
		return users(ctx, args[1:], stdout, stderr)
	case "batch":
		return batchCommand(ctx, args[1:], stdout, stderr)
	case "keys":
		return keys(ctx, args[1:], stdout, stderr)
	case "usage":
		return usageCommand(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrateCommand(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "-version", "--version", "version":
		fmt.Fprint(stdout, version())
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// parseFlags parses args into fs. Asked for help, it writes fs's usage to
// stdout and reports helped; a mistake gets the usage on stderr, and the
// error is returned for main to print.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (helped bool, err error) {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package would print it to one output for both
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		usage()
		return true, nil
	case err != nil:
		fs.SetOutput(stderr)
		usage()
	}
	return false, err
}
