package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
)

const emulateUsage = `Usage:
  claudebridge emulate bedrock   [--listen HOST:PORT] [--region R] [--credentials AKID:SECRET,...] [--bearer TOKEN,...] [--secret NAME=VALUE ...]
  claudebridge emulate anthropic [--listen HOST:PORT] [--api-key KEY,...]

Emulators of the Bedrock runtime (with its control plane's model lists and
Secrets Manager's GetSecretValue) and of the Anthropic API, speaking their real
wire formats over HTTP/1.1 and HTTP/2 without TLS. Faults are asked for in the
text of the last user message; see README.md ("Emulators").
`

func emulate(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "bedrock" && args[0] != "anthropic") {
		fmt.Fprint(os.Stderr, emulateUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return fmt.Errorf("emulate: say bedrock or anthropic")
	}
	which := args[0]
	fs := flag.NewFlagSet("emulate "+which, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), emulateUsage); fs.PrintDefaults() }
	listen := fs.String("listen", "127.0.0.1:4000", "address to listen on, HOST:PORT")
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var start func() error
	switch which {
	case "bedrock":
		region := fs.String("region", "us-east-1", "the AWS region the emulator plays")
		creds := fs.String("credentials", "", "AKID:SECRET pairs whose SigV4 signatures are verified (default: any well-formed signature)")
		bearer := fs.String("bearer", "", "Bedrock API keys accepted as Authorization: Bearer (default: any)")
		secrets := map[string]string{}
		fs.Func("secret", "a Secrets Manager secret NAME=VALUE (repeatable)", func(s string) error {
			name, value, ok := strings.Cut(s, "=")
			if !ok || name == "" {
				return errors.New("want NAME=VALUE")
			}
			secrets[name] = value
			return nil
		})
		start = func() error {
			pairs := map[string]string{}
			for _, p := range list(*creds) {
				id, secret, ok := strings.Cut(p, ":")
				if !ok {
					return fmt.Errorf("--credentials: %q is not AKID:SECRET", p)
				}
				pairs[id] = secret
			}
			h := bedrockemu.New(bedrockemu.Options{Region: *region, Credentials: pairs, BearerTokens: list(*bearer), Secrets: secrets, Logger: log})
			return serveEmulator(ctx, *listen, h, log, "Bedrock emulator ("+*region+")")
		}
	case "anthropic":
		keys := fs.String("api-key", "", "API keys accepted (default: any non-empty key)")
		start = func() error {
			h := anthropicemu.New(anthropicemu.Options{APIKeys: list(*keys), Logger: log})
			return serveEmulator(ctx, *listen, h, log, "Anthropic API emulator")
		}
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	return start()
}

func serveEmulator(ctx context.Context, addr string, h http.Handler, log *slog.Logger, name string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info(name+" serving", "addr", "http://"+ln.Addr().String())
	return serveUntilDone(ctx, newServer(h), ln, log)
}
