// Command claudebridge serves the Anthropic Messages API from AWS Bedrock or
// the Anthropic API, and carries emulators of both.
//
//	claudebridge serve               the gateway
//	claudebridge emulate bedrock     the Bedrock runtime emulator
//	claudebridge emulate anthropic   the Anthropic API emulator
//	claudebridge users add NAME      a user of the chat
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `claudebridge: the Anthropic Messages API in front of AWS Bedrock or the Anthropic API.

Usage:
  claudebridge serve [flags]               run the gateway (settings from the environment; see README)
  claudebridge emulate bedrock [flags]     run the Bedrock runtime emulator
  claudebridge emulate anthropic [flags]   run the Anthropic API emulator
  claudebridge users add NAME | list      manage the chat's users

Run "claudebridge <command> --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "claudebridge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:])
	case "emulate":
		return emulate(ctx, args[1:])
	case "users":
		return users(ctx, args[1:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
