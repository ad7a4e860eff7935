package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
)

// The emulators' default addresses: next to serve's 8080, and apart, so
// that both emulators and the gateway run side by side as they are.
const (
	bedrockEmulatorAddr   = "127.0.0.1:8081"
	anthropicEmulatorAddr = "127.0.0.1:8082"
)

const emulateUsage = `Usage:
  claudebridge emulate bedrock [flags]     the Bedrock runtime emulator (default ` + bedrockEmulatorAddr + `)
  claudebridge emulate anthropic [flags]   the Anthropic API emulator (default ` + anthropicEmulatorAddr + `)

Emulators of the Bedrock runtime (with its control plane's model lists and
Secrets Manager's GetSecretValue) and of the Anthropic API, speaking their real
wire formats over HTTP/1.1 and HTTP/2 without TLS. Faults are asked for in the
text of the last user message; see README.md ("Emulators").

Run "claudebridge emulate bedrock --help" or "... anthropic --help" for the flags.
`

const bedrockUsage = `Usage: claudebridge emulate bedrock [--listen HOST:PORT] [--region R] [--credentials AKID:SECRET,...] [--bearer TOKEN,...] [--secret NAME=VALUE ...]

The Bedrock runtime emulator: InvokeModel, InvokeModelWithResponseStream,
Converse, ConverseStream and CountTokens, with the control plane's
ListFoundationModels, ListInferenceProfiles and GetInferenceProfile and
Secrets Manager's GetSecretValue, over HTTP/1.1 and HTTP/2 without TLS. Point
an AWS SDK at it with AWS_ENDPOINT_URL_BEDROCK_RUNTIME (and _BEDROCK,
_SECRETS_MANAGER). Faults are asked for in the text of the last user
message; see README.md ("Emulators").

Flags:
`

const anthropicUsage = `Usage: claudebridge emulate anthropic [--listen HOST:PORT] [--api-key KEY,...]

The Anthropic API emulator: /v1/messages (JSON and SSE),
/v1/messages/count_tokens and /v1/models. Point an Anthropic SDK at it with
ANTHROPIC_BASE_URL. Faults are asked for in the text of the last user
message; see README.md ("Emulators").

Flags:
`

func emulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "bedrock" && args[0] != "anthropic") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprint(stdout, emulateUsage)
			return nil
		}
		fmt.Fprint(stderr, emulateUsage)
		return fmt.Errorf("emulate: say bedrock or anthropic")
	}
	which := args[0]
	fs := flag.NewFlagSet("emulate "+which, flag.ContinueOnError)
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var start func() error
	switch which {
	case "bedrock":
		fs.Usage = func() { fmt.Fprint(fs.Output(), bedrockUsage); fs.PrintDefaults() }
		listen := fs.String("listen", bedrockEmulatorAddr, "address to listen on, HOST:PORT")
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
		fs.Usage = func() { fmt.Fprint(fs.Output(), anthropicUsage); fs.PrintDefaults() }
		listen := fs.String("listen", anthropicEmulatorAddr, "address to listen on, HOST:PORT")
		keys := fs.String("api-key", "", "API keys accepted (default: any non-empty key)")
		start = func() error {
			h := anthropicemu.New(anthropicemu.Options{APIKeys: list(*keys), Logger: log})
			return serveEmulator(ctx, *listen, h, log, "Anthropic API emulator")
		}
	}
	if helped, err := parseFlags(fs, args[1:], stdout, stderr); helped || err != nil {
		return err
	}
	return start()
}

// serveEmulator serves an emulator until ctx ends; calls in flight then
// get ten seconds to finish.
func serveEmulator(ctx context.Context, addr string, h http.Handler, log *slog.Logger, name string) error {
	ln, err := listenTCP(addr, "--listen HOST:PORT")
	if err != nil {
		return err
	}
	log.Info(name+" serving", "addr", "http://"+ln.Addr().String())
	return serveUntilDone(ctx, newServer(h), ln, log, shutdown{Grace: 10 * time.Second})
}
