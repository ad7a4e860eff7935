package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/lambdaurl/runtimeapitest"
	"github.com/claudebridge/claudebridge/sqlite"
)

func startRuntimeAPI(t *testing.T) *runtimeapitest.API {
	t.Helper()
	api, err := runtimeapitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	t.Setenv(runtimeAPIVariable, api.Addr)
	return api
}

func TestAnOpenGatewayIsRefusedAsALambdaFunctionAndTheRuntimeAPIIsTold(t *testing.T) {
	serveEnv(t, filepath.Join(t.TempDir(), "open.db"), nil)
	api := startRuntimeAPI(t)
	err := run(t.Context(), nil, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("the function started without a client key")
	}
	if want := "function URL"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
	if got, want := len(api.InitErrors()), 1; got != want {
		t.Fatalf("init errors posted: got %d, want %d", got, want)
	}
	if got, want := string(api.InitErrors()[0]), "Runtime.InitError"; !strings.Contains(got, want) {
		t.Errorf("init error %q lacks %q", got, want)
	}
}

func TestAFunctionsLedgerRowIsWrittenBeforeItsAnswerEnds(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "fn.db")
	serveEnv(t, dbPath, map[string]string{"API_KEYS": "fn-key"})
	api := startRuntimeAPI(t)
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, nil, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("the function ended with %v", err)
		}
	}()

	ev, _ := json.Marshal(events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/v1/messages",
		Headers: map[string]string{"x-api-key": "fn-key", "anthropic-version": "2023-06-01", "content-type": "application/json"},
		Body:    `{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}`,
		RequestContext: events.LambdaFunctionURLRequestContext{DomainName: "fn.lambda-url.us-east-1.on.aws",
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/v1/messages", SourceIP: "203.0.113.1"}}})
	invoked, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	ans, err := api.Invoke(invoked, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ans.Status, 200; got != want {
		t.Fatalf("status: got %d, want %d (%s)", got, want, ans.Failed)
	}
	for range ans.Chunks { // to the answer's end
	}
	// Lambda may freeze the process now: the row must be stored already.
	db, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	totals, err := db.LedgerTotals(context.Background(), claudebridge.ByDay, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, tot := range totals {
		calls += tot.Calls
	}
	if got, want := calls, 1; got != want {
		t.Errorf("ledger rows when the answer ended: got %d, want %d", got, want)
	}
}

func TestAFunctionAnswersAWebSocketConnectWithoutTicketOrCookieWith401(t *testing.T) {
	serveEnv(t, filepath.Join(t.TempDir(), "fn.db"), map[string]string{"API_KEYS": "fn-key",
		"CHAT_SOCKET_URL": "wss://abc123.execute-api.us-east-1.amazonaws.com/chat"})
	api := startRuntimeAPI(t)
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, nil, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("the function ended with %v", err)
		}
	}()
	var ev events.APIGatewayWebsocketProxyRequest
	ev.RequestContext.RouteKey, ev.RequestContext.EventType = "$connect", "CONNECT"
	ev.RequestContext.ConnectionID, ev.RequestContext.DomainName, ev.RequestContext.Stage = "L0SM9cOFvHcCIhw=", "abc123.execute-api.us-east-1.amazonaws.com", "chat"
	b, _ := json.Marshal(ev)
	invoked, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	ans, err := api.Invoke(invoked, b)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	for c := range ans.Chunks {
		body.Write(c.Data)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal([]byte(body.String()), &resp); err != nil {
		t.Fatalf("answer %q (%s): %v", body.String(), ans.Failed, err)
	}
	if got, want := resp.StatusCode, 401; got != want {
		t.Errorf("status %d, want %d (%s)", got, want, resp.Body)
	}
}
