package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/aws/aws-lambda-go/events"

	"github.com/claudebridge/claudebridge/lambdaurl/runtimeapitest"
)

// rieModule is the Lambda Runtime Interface Emulator the function is run
// under, at the version `make lambda-rie` installs.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// lambdaEnv is the function's environment: the same variables as a
// gateway's, on the Anthropic emulator.
func lambdaEnv(t *testing.T) []string {
	return []string{
		"AI_PROVIDER=anthropic",
		"ANTHROPIC_BASE_URL=" + anthropicEmulatorURL,
		"ANTHROPIC_API_KEY=" + upstreamAPIKey,
		"API_KEYS=" + gatewayKey,
		"DATABASE_URL=" + filepath.Join(t.TempDir(), "lambda.db"),
	}
}

// startProcess runs cmd in its own process group with its output in the
// test's log, and stops it when the test ends.
func startProcess(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = childAttr()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		termGroup(cmd)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			killGroup(cmd)
			<-done
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("%s:\n%s", filepath.Base(cmd.Path), out.String())
		}
	})
}

// functionURLEvent is the Function URL event (payload 2.0) of r, as the
// function URL makes it: headers in lower case, one value each, cookies
// apart, query parameters decoded (several values joined with commas), a
// body that is not UTF-8 text in base64.
func functionURLEvent(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{"host": r.Host}}
	for name, values := range r.Header {
		if name == "Cookie" {
			for _, v := range values {
				ev.Cookies = append(ev.Cookies, strings.Split(v, "; ")...)
			}
			continue
		}
		ev.Headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for name, values := range q {
			ev.QueryStringParameters[name] = strings.Join(values, ",")
		}
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	ev.RequestContext.DomainName = r.Host
	ev.RequestContext.RequestID = fmt.Sprint(time.Now().UnixNano())
	ev.RequestContext.HTTP = events.LambdaFunctionURLRequestContextHTTPDescription{
		Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: host, UserAgent: r.UserAgent()}
	return json.Marshal(ev)
}

// functionURL is a stand-in of a Function URL in front of the runtime
// interface emulator at rie: each request becomes an invocation.
func functionURL(rie string) http.Handler {
	return functionURLHandler(func(ctx context.Context, ev []byte) (invocation, error) {
		resp, err := http.Post(rie+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(ev))
		if err != nil {
			return invocation{}, err
		}
		defer resp.Body.Close()
		payload, err := io.ReadAll(resp.Body)
		return invocation{payload: payload}, err
	})
}

// functionURLHandler is a stand-in of a Function URL that invokes the
// function with invoke: each request becomes an invocation (payload 2.0),
// and the answer's HTTP integration prelude (JSON, then 8 NUL bytes) its
// status and headers, the rest its body. A throttled invocation is a 429,
// a failed one a 502, as a Function URL answers them.
func functionURLHandler(invoke func(ctx context.Context, ev []byte) (invocation, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := functionURLEvent(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		inv, err := invoke(r.Context(), ev)
		if errors.Is(err, errThrottled) {
			http.Error(w, `{"Message":"Rate Exceeded."}`, http.StatusTooManyRequests)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if inv.functionError != "" {
			http.Error(w, `{"Message":"Internal Server Error"}`, http.StatusBadGateway)
			return
		}
		prelude, rest, ok := bytes.Cut(inv.payload, make([]byte, 8))
		if !ok {
			http.Error(w, "no prelude ending with 8 NUL bytes in the function's answer: "+string(inv.payload), http.StatusBadGateway)
			return
		}
		var p struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
			Cookies    []string          `json:"cookies"`
		}
		if err := json.Unmarshal(prelude, &p); err != nil {
			http.Error(w, "the prelude: "+err.Error(), http.StatusBadGateway)
			return
		}
		for name, value := range p.Headers {
			w.Header().Set(name, value)
		}
		for _, c := range p.Cookies {
			w.Header().Add("Set-Cookie", c)
		}
		w.WriteHeader(p.StatusCode)
		w.Write(rest)
	})
}

// installRIE returns the runtime interface emulator's binary: the one
// `make lambda-rie` put in .bin/, else one go install builds now, once per
// test binary.
func installRIE(t *testing.T) string {
	t.Helper()
	bin, err := rieBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var rieBinary = sync.OnceValues(func() (string, error) {
	if bin := filepath.Join(repoRoot(), ".bin", "aws-lambda-rie"); fileExists(bin) {
		return bin, nil
	}
	dir := filepath.Join(tempDir, "rie")
	install := exec.Command("go", "install", rieModule)
	install.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", rieModule, err, out)
	}
	return filepath.Join(dir, "aws-lambda-rie"), nil
})

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// freeAddr is a loopback address no one listens on, for a program that
// takes one only as a flag.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestTheEventsOfASlowStreamLeaveTheFunctionOneByOneThroughTheRuntimeAPI(t *testing.T) {
	api, err := runtimeapitest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	fn := exec.Command(claudebridgeBin)
	fn.Env = append(baseEnv(), append(lambdaEnv(t), "AWS_LAMBDA_RUNTIME_API="+api.Addr)...)
	startProcess(t, fn)

	ev, _ := json.Marshal(events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/v1/messages",
		Headers: map[string]string{"host": "fn.lambda-url.us-east-1.on.aws", "x-api-key": gatewayKey,
			"anthropic-version": "2023-06-01", "content-type": "application/json"},
		Body: `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"[[slow=100]] one two three four"}]}`,
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
			Method: "POST", Path: "/v1/messages", SourceIP: "203.0.113.9"}}})
	ans, err := api.Invoke(ctxFor(t), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ans.Mode, "streaming"; got != want {
		t.Errorf("response mode: got %q, want %q", got, want)
	}
	if got, want := ans.Status, http.StatusOK; got != want {
		t.Fatalf("status: got %d, want %d (%s)", got, want, ans.Failed)
	}
	if got, want := ans.Header["Content-Type"], "text/event-stream"; !strings.HasPrefix(got, want) {
		t.Errorf("content type: got %q, want %q", got, want)
	}
	if got := ans.Header["Request-Id"]; got == "" {
		t.Error("no request-id header")
	}
	// Each event is on its way before the next is written, 100 ms later:
	// the deltas arrive in as many chunks, spread over time.
	var deltaTimes []time.Time
	var all strings.Builder
	for c := range ans.Chunks {
		all.Write(c.Data)
		for range strings.Count(string(c.Data), "event: content_block_delta\n") {
			deltaTimes = append(deltaTimes, c.At)
		}
	}
	if !strings.Contains(all.String(), "event: message_stop\n") {
		t.Fatalf("the stream did not end with message_stop:\n%s", all.String())
	}
	if len(deltaTimes) < 3 {
		t.Fatalf("got %d content_block_delta events, want 3 or more:\n%s", len(deltaTimes), all.String())
	}
	for i := 1; i < len(deltaTimes); i++ {
		if gap := deltaTimes[i].Sub(deltaTimes[i-1]); gap < 50*time.Millisecond {
			t.Errorf("delta %d arrived %s after the one before: buffered, not streamed", i, gap)
		}
	}
}

func TestTheAnthropicSDKWorksThroughAFunctionURLUnderTheRuntimeInterfaceEmulator(t *testing.T) {
	rie := installRIE(t)
	emulatorAddr, runtimeAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", emulatorAddr, "--runtime-api-address", runtimeAddr, claudebridgeBin)
	cmd.Env = append(baseEnv(), append(lambdaEnv(t), "AWS_LAMBDA_FUNCTION_TIMEOUT=60")...)
	cmd.Dir = t.TempDir()
	startProcess(t, cmd)
	url := httptest.NewServer(functionURL("http://" + emulatorAddr))
	defer url.Close()
	gw := gateway{name: "lambda", url: url.URL, model: "claude-sonnet-4-5"}

	// The emulator starts the function at the first invocation: that
	// call's time, once the emulator listens, is the cold start.
	for waited := time.Now(); ; {
		c, err := net.Dial("tcp", emulatorAddr)
		if err == nil {
			c.Close()
			break
		}
		if time.Since(waited) > startupDeadline {
			t.Fatalf("the runtime interface emulator does not listen: %v", err)
		}
	}
	started := time.Now()
	resp, err := http.Get(url.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("/healthz: got %d, want %d", got, want)
	}
	t.Logf("cold start under the runtime interface emulator, to the first answer: %s", time.Since(started))

	client := newClient(gw)
	t.Run("messages", func(t *testing.T) {
		prompt := "Hello through Lambda " + nonce(t)
		msg, err := client.Messages.New(ctxFor(t), userText(gw.model, prompt))
		if err != nil {
			t.Fatal(err)
		}
		if got := textOf(msg); !strings.Contains(got, prompt) {
			t.Errorf("the answer does not quote the question: %q", got)
		}
	})
	t.Run("streaming", func(t *testing.T) {
		prompt := "Stream through Lambda " + nonce(t)
		stream := client.Messages.NewStreaming(ctxFor(t), userText(gw.model, prompt))
		var acc anthropic.Message
		for stream.Next() {
			if err := acc.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if got := textOf(&acc); !strings.Contains(got, prompt) {
			t.Errorf("the answer does not quote the question: %q", got)
		}
		if got, want := acc.StopReason, anthropic.StopReasonEndTurn; got != want {
			t.Errorf("stop reason: got %q, want %q", got, want)
		}
	})
	t.Run("count_tokens", func(t *testing.T) {
		n, err := client.Messages.CountTokens(ctxFor(t), anthropic.MessageCountTokensParams{
			Model:    anthropic.Model(gw.model),
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count me"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if n.InputTokens <= 0 {
			t.Errorf("input tokens: got %d, want more than 0", n.InputTokens)
		}
	})
	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctxFor(t), anthropic.ModelListParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) == 0 {
			t.Error("no models listed")
		}
	})
	t.Run("the chat page", func(t *testing.T) {
		resp, err := http.Get(url.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("status: got %d, want %d", got, want)
		}
		if got, want := resp.Header.Get("Content-Type"), "text/html"; !strings.HasPrefix(got, want) {
			t.Errorf("content type: got %q, want %q", got, want)
		}
	})
	t.Run("a wrong key", func(t *testing.T) {
		wrong := newClient(gw, option.WithAPIKey("not-the-key"))
		_, err := wrong.Messages.New(ctxFor(t), userText(gw.model, "hi"))
		wantAPIError(t, err, http.StatusUnauthorized, "authentication_error")
	})
}
