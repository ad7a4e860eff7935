package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/claudebridge/claudebridge/apigwchat"
	"github.com/claudebridge/claudebridge/internal/redact"
	"github.com/claudebridge/claudebridge/lambdaurl"
)

// runtimeAPIVariable is set by Lambda in a function's environment: the
// Runtime API's HOST:PORT. provided.al2023 starts `bootstrap` with no
// arguments; with both, the binary is a Lambda function.
const runtimeAPIVariable = "AWS_LAMBDA_RUNTIME_API"

// functionURLAddr stands for the listener of a function URL in the checks
// that judge serve's address: reachable from anywhere, like all interfaces.
const functionURLAddr = "0.0.0.0:443"

// lambdaFunction answers the invocations of a Lambda function behind a
// Function URL (RESPONSE_STREAM) with the handler serve has, configured by
// the same variables, and the events of the chat's WebSocket API on API
// Gateway (CHAT_SOCKET_URL) with the turn jobs it sends itself
// (apigwchat). Differences: no listener (LISTEN_ADDR and
// METRICS_ADDR are not used); the default SQLite database is in the
// temporary directory, the only one Lambda lets a function write; each
// ledger row is written as its call ends, before the answer's end is
// sent, since Lambda may freeze the process between invocations. A failure
// to start is reported to the Runtime API (an init error) as well as
// returned.
func lambdaFunction(ctx context.Context, api string, stderr io.Writer) (err error) {
	started := false
	defer func() {
		if err != nil && !started {
			lambdaurl.NewRuntime(api).InitError(context.Background(), err)
		}
	}()
	cfg, err := loadConfig(lambdaEnv(os.Getenv))
	if err != nil {
		return err
	}
	cfg.Listen = functionURLAddr
	if err := cfg.checkTrustedHeader(); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, err := newApp(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Open() {
		return fmt.Errorf("no API_KEYS or BEARER_TOKEN set: refusing to serve an open gateway on a function URL, which anyone may reach")
	}
	log.Info("claudebridge serving as a Lambda function", "upstream", a.About,
		"auth", !a.Open(), "bedrock_access_keys", len(cfg.BedrockAccessKeys), "admin_api", cfg.AdminKey != "",
		"database", redact.URL(cfg.Chat.DatabasePath), "ledger", !cfg.LedgerOff)
	sockets, err := socketHost(ctx, a, log)
	if err != nil {
		return err
	}
	a.Start()
	started = true
	err = lambdaurl.Serve(ctx, api, a.Handler, sockets.Handle, log)
	if err != nil {
		return err
	}
	// The first SIGTERM (sent when the environment ends) stopped the loop.
	drain, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if a.Shutdown.Drain != nil {
		a.Shutdown.Drain(drain)
	}
	return nil
}

// lambdaEnv is getenv with the default database in the temporary
// directory (XDG_DATA_HOME, which the default path is under), when neither
// DATABASE_URL nor XDG_DATA_HOME is set.
func lambdaEnv(getenv func(string) string) func(string) string {
	return func(name string) string {
		v := getenv(name)
		if name == "XDG_DATA_HOME" && v == "" && getenv("DATABASE_URL") == "" {
			return os.TempDir()
		}
		return v
	}
}

// socketHost answers the chat's WebSocket on API Gateway: the events of
// its routes, and the turn jobs the function sends itself
// (AWS_LAMBDA_FUNCTION_NAME, which Lambda sets).
func socketHost(ctx context.Context, a *app, log *slog.Logger) (*apigwchat.Host, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("the AWS configuration of the chat's WebSocket: %w", err)
	}
	return apigwchat.New(apigwchat.Options{Chat: a.Chat, AWS: awsCfg, FunctionName: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Logger: log}), nil
}
