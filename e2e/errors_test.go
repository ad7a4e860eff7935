package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

func TestInvalidRequestNamesTheField(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		params := userText(gw.model, "Hello "+nonce(t))
		params.MaxTokens = 0
		_, err := client.Messages.New(ctxFor(t), params, option.WithJSONDel("max_tokens"))
		e := wantAPIError(t, err, 400, "invalid_request_error")
		if !strings.Contains(e.RawJSON(), "max_tokens") {
			t.Errorf("the error does not name max_tokens: %s", e.RawJSON())
		}
		for body, field := range map[string]string{
			`{"model":"` + gw.model + `","max_tokens":10,"messages":[]}`:                                  "messages",
			`{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`:                               "model",
			`{"model":"` + gw.model + `","max_tokens":"ten","messages":[{"role":"user","content":"hi"}]}`: "max_tokens",
			`{"model":`: "",
		} {
			resp := postRaw(t, gw, "/v1/messages", body, nil)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Type  string `json:"type"`
				Error struct{ Type, Message string }
			}
			if resp.StatusCode != 400 || json.Unmarshal(b, &e) != nil || e.Type != "error" || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, field) {
				t.Errorf("%s: %d %s; want 400 invalid_request_error naming %q", body, resp.StatusCode, b, field)
			}
			if resp.Header.Get("request-id") == "" {
				t.Errorf("%s: no request-id header", body)
			}
		}
	})
}

func TestAuthenticationError(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw, option.WithAPIKey("wrong-key"))
		_, err := client.Messages.New(ctxFor(t), userText(gw.model, "Hello "+nonce(t)))
		wantAPIError(t, err, 401, "authentication_error")
		// Authorization: Bearer works like x-api-key.
		bearer := newClient(gw, option.WithAPIKey(""), option.WithAuthToken(gatewayKey))
		if _, err := bearer.Messages.New(ctxFor(t), userText(gw.model, "Hello "+nonce(t))); err != nil {
			t.Errorf("bearer token: %v", err)
		}
	})
}

func TestUnknownModel(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		_, err := client.Messages.New(ctxFor(t), userText("claude-nonexistent-9-9", "Hello "+nonce(t)))
		wantAPIError(t, err, 404, "not_found_error")
	})
}

func TestRateLimitAfterRetries(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		_, err := client.Messages.New(ctxFor(t), userText(gw.model, "Hello [[throttle]] [[retry-after=0]] "+nonce(t)))
		wantAPIError(t, err, 429, "rate_limit_error")
	})
}

// TestRetrySucceeds: the first upstream call is throttled, the gateway's
// retry succeeds; the SDK's own retries are off.
func TestRetrySucceeds(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		for _, fault := range []string{"[[throttle*1]]", "[[overloaded*1]]"} {
			msg, err := client.Messages.New(ctxFor(t), userText(gw.model, "Hello "+fault+" "+nonce(t)))
			if err != nil {
				t.Fatalf("%s: %v", fault, err)
			}
			if msg.StopReason != anthropic.StopReasonEndTurn {
				t.Errorf("%s: stop_reason %q", fault, msg.StopReason)
			}
		}
		stream := client.Messages.NewStreaming(ctxFor(t), userText(gw.model, "Stream [[throttle*1]] "+nonce(t)))
		n := 0
		for stream.Next() {
			n++
		}
		if err := stream.Err(); err != nil || n == 0 {
			t.Errorf("streaming after a throttled first call: %d events, %v", n, err)
		}
	})
}

func TestOverloaded(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		_, err := client.Messages.New(ctxFor(t), userText(gw.model, "Hello [[overloaded]] "+nonce(t)))
		wantAPIError(t, err, 529, "overloaded_error")
	})
}

// TestMidStreamError: an upstream failure after the first events reaches
// the SDK as an error of the stream, never as a clean end.
func TestMidStreamError(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		for _, fault := range []string{"[[stream-error=3]]", "[[cut=3]]"} {
			stream := client.Messages.NewStreaming(ctxFor(t), userText(gw.model, "Hello "+fault+" "+nonce(t)))
			var seen []string
			for stream.Next() {
				seen = append(seen, string(stream.Current().Type))
			}
			if stream.Err() == nil {
				t.Errorf("%s: the stream ended cleanly after %v", fault, seen)
			}
			for _, s := range seen {
				if s == "message_stop" {
					t.Errorf("%s: message_stop after a failure: %v", fault, seen)
				}
			}
		}
	})
}

// TestStreamEndsWithErrorEvent reads the SSE itself: every event has its
// event: line, and a stream the upstream breaks ends with an Anthropic
// error event, not a silent close.
func TestStreamEndsWithErrorEvent(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		for _, fault := range []string{"[[stream-error=3]]", "[[cut=3]]"} {
			body := `{"model":"` + gw.model + `","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello ` + fault + " " + nonce(t) + `"}]}`
			_, events, _ := rawStream(t, gw, body, nil)
			got := names(events)
			if len(got) < 2 || got[0] != "message_start" || got[len(got)-1] != "error" {
				t.Fatalf("%s: events %v, want message_start … error", fault, got)
			}
			var e struct {
				Type  string `json:"type"`
				Error struct{ Type, Message string }
			}
			last := events[len(events)-1]
			if json.Unmarshal([]byte(last.data), &e) != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
				t.Errorf("%s: error event %q is not in the Anthropic shape", fault, last.data)
			}
			for _, ev := range events {
				if ev.name == "" {
					t.Errorf("%s: data without an event: line: %q", fault, ev.data)
				}
			}
		}
	})
}

func TestCORS(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		req, _ := http.NewRequestWithContext(ctxFor(t), http.MethodOptions, gw.url+"/v1/messages", nil)
		req.Header.Set("Origin", corsOrigin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-api-key,anthropic-version")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != corsOrigin ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Methods")), "post") ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "x-api-key") {
			t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
		post := postRaw(t, gw, "/v1/messages", `{"model":"`+gw.model+`","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"Origin": corsOrigin})
		post.Body.Close()
		if post.Header.Get("Access-Control-Allow-Origin") != corsOrigin ||
			!strings.Contains(strings.ToLower(post.Header.Get("Access-Control-Expose-Headers")), "request-id") {
			t.Errorf("CORS headers of the answer: %v", post.Header)
		}
		req, _ = http.NewRequestWithContext(ctxFor(t), http.MethodOptions, gw.url+"/v1/messages", nil)
		req.Header.Set("Origin", "http://evil.example.test")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("an origin not allowed got Access-Control-Allow-Origin %q", resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

// TestPromptTooLongIsAnthropicsAnswer: a prompt over the context window is
// 400 invalid_request_error "prompt is too long: ...", whichever upstream
// and Bedrock API: the text clients compact and retry on.
func TestPromptTooLongIsAnthropicsAnswer(t *testing.T) {
	all := append(gateways(), gateway{name: "converse", url: converseGatewayURL, model: "claude-sonnet-4-5"})
	for _, gw := range all {
		t.Run(gw.name, func(t *testing.T) {
			t.Parallel()
			client := newClient(gw)
			_, err := client.Messages.New(ctxFor(t), userText(gw.model, "Hello [[too-long]] "+nonce(t)))
			e := wantAPIError(t, err, 400, "invalid_request_error")
			if e != nil && !strings.Contains(e.RawJSON(), "prompt is too long") {
				t.Errorf("message %s, want prompt is too long", e.RawJSON())
			}
		})
	}
}

// TestTimeoutsAreTimeoutErrors: a model that times out is 504
// timeout_error, and when it happens mid-stream an error event of that
// type ends the stream.
func TestTimeoutsAreTimeoutErrors(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		client := newClient(gw)
		_, err := client.Messages.New(ctxFor(t), userText(gw.model, "Hello [[model-timeout]] "+nonce(t)))
		wantAPIError(t, err, 504, "timeout_error")

		body := `{"model":"` + gw.model + `","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello [[stream-timeout=3]] ` + nonce(t) + `"}]}`
		_, events, _ := rawStream(t, gw, body, nil)
		got := names(events)
		if len(got) < 2 || got[len(got)-1] != "error" {
			t.Fatalf("events %v, want … error", got)
		}
		var e struct{ Error struct{ Type string } }
		json.Unmarshal([]byte(events[len(events)-1].data), &e)
		if got, want := e.Error.Type, "timeout_error"; got != want {
			t.Errorf("error event type %q, want %q", got, want)
		}
	})
}

// TestBodyOverBedrocksLimitIsTooLarge: over Bedrock, a body over its
// 25,000,000 bytes is 413 request_too_large, before it reaches Bedrock.
func TestBodyOverBedrocksLimitIsTooLarge(t *testing.T) {
	gw := bedrockGateway()
	body := `{"model":"` + gw.model + `","max_tokens":64,"messages":[{"role":"user","content":"` + strings.Repeat("a", 25_000_000) + `"}]}`
	resp := postRaw(t, gw, "/v1/messages", body, nil)
	defer resp.Body.Close()
	var e struct{ Error struct{ Type string } }
	json.NewDecoder(resp.Body).Decode(&e)
	if got, want := resp.StatusCode, 413; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := e.Error.Type, "request_too_large"; got != want {
		t.Errorf("type %q, want %q", got, want)
	}
}

// TestRequestChecksAreTheAPIs: no anthropic-version, a body declared as
// something else than JSON, a body that is not UTF-8: 400
// invalid_request_error, as from the Anthropic API.
func TestRequestChecksAreTheAPIs(t *testing.T) {
	eachGateway(t, func(t *testing.T, gw gateway) {
		body := `{"model":"` + gw.model + `","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
		for _, tc := range []struct {
			name, body string
			header     map[string]string
			mention    string
		}{
			{"no version", body, map[string]string{"anthropic-version": ""}, "anthropic-version: header is required"},
			{"form body", body, map[string]string{"content-type": "application/x-www-form-urlencoded"}, "content-type"},
			{"not UTF-8", `{"model":"` + gw.model + `","max_tokens":64,"messages":[{"role":"user","content":"h` + "\xff" + `i"}]}`, nil, "'utf-8' codec can't decode byte 0xff"},
		} {
			resp := postRaw(t, gw, "/v1/messages", tc.body, tc.header)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Error struct{ Type, Message string }
			}
			json.Unmarshal(b, &e)
			if got, want := resp.StatusCode, 400; got != want {
				t.Errorf("%s: status %d, want %d: %s", tc.name, got, want, b)
			}
			if got, want := e.Error.Type, "invalid_request_error"; got != want {
				t.Errorf("%s: type %q, want %q", tc.name, got, want)
			}
			if !strings.Contains(e.Error.Message, tc.mention) {
				t.Errorf("%s: message %q does not say %q", tc.name, e.Error.Message, tc.mention)
			}
		}
	})
}
