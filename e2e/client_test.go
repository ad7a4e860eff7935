package e2e

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// newClient is the official Go SDK pointed at a gateway. The SDK's own
// retries are off, so that a success after a fault proves the gateway
// retried.
func newClient(gw gateway, opts ...option.RequestOption) anthropic.Client {
	base := []option.RequestOption{
		option.WithBaseURL(gw.url),
		option.WithAPIKey(gatewayKey),
		option.WithMaxRetries(0),
	}
	return anthropic.NewClient(append(base, opts...)...)
}

// userText is a request of one user message.
func userText(model, text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 512,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

// textOf joins the text blocks of a message.
func textOf(m *anthropic.Message) string {
	var b strings.Builder
	for _, c := range m.Content {
		if t, ok := c.AsAny().(anthropic.TextBlock); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// wantAPIError checks that err is the SDK's API error with that status and
// error type, and returns it.
func wantAPIError(t *testing.T, err error, status int, typ string) *anthropic.Error {
	t.Helper()
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an *anthropic.Error %d %s, got %T: %v", status, typ, err, err)
	}
	if apiErr.StatusCode != status || string(apiErr.Type()) != typ {
		t.Fatalf("want %d %s, got %d %s: %s", status, typ, apiErr.StatusCode, apiErr.Type(), apiErr.RawJSON())
	}
	if apiErr.RequestID == "" {
		t.Errorf("error without a request-id header: %s", apiErr.RawJSON())
	}
	return apiErr
}

// sseEvent is one event of a raw SSE stream.
type sseEvent struct {
	name string // the event: line, "" when the event had none
	data string
}

// postRaw sends body to gw's /v1/messages with the gateway key and returns
// the response; the caller closes it.
func postRaw(t *testing.T, gw gateway, path, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodPost, gw.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("x-api-key", gatewayKey)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// rawStream posts a streaming body and reads every SSE event to the end of
// the response. readErr is what ended the reading, nil for a clean end.
func rawStream(t *testing.T, gw gateway, body string, header map[string]string) (resp *http.Response, events []sseEvent, readErr error) {
	t.Helper()
	resp = postRaw(t, gw, "/v1/messages", body, header)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream answered %d: %s", resp.StatusCode, b)
	}
	r := bufio.NewReader(resp.Body)
	var cur sseEvent
	var data []string
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		switch {
		case err != nil && line == "":
			if err == io.EOF {
				err = nil
			}
			return resp, events, err
		case line == "":
			if data != nil {
				cur.data = strings.Join(data, "\n")
				events = append(events, cur)
			}
			cur, data = sseEvent{}, nil
		case strings.HasPrefix(line, "event:"):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
}

// names lists the event names of a raw stream, pings left out.
func names(events []sseEvent) []string {
	var out []string
	for _, e := range events {
		if e.name != "ping" {
			out = append(out, e.name)
		}
	}
	return out
}
