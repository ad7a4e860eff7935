package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/emulator/anthropicemu"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/sampling"
)

// newGateway serves a gateway whose upstream is the Anthropic API emulator,
// reached over loopback by the real anthropicapi upstream.
func newGateway(t *testing.T, configure func(*gateway.Gateway)) *httptest.Server {
	t.Helper()
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{APIKeys: []string{"upstream-key"}}))
	t.Cleanup(emu.Close)
	g := &gateway.Gateway{
		Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("upstream-key")}),
	}
	if configure != nil {
		configure(g)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type apiError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

func readError(t *testing.T, resp *http.Response) apiError {
	t.Helper()
	var e apiError
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("error body: %v", err)
	}
	if e.Type != "error" || e.RequestID == "" || e.RequestID != resp.Header.Get("request-id") {
		t.Fatalf("not an Anthropic error or request ids differ: %+v, header %q", e, resp.Header.Get("request-id"))
	}
	return e
}

func message(text string, extra string) string {
	return `{"model":"claude-sonnet-4-5","max_tokens":200,` + extra + `"messages":[{"role":"user","content":` + quote(text) + `}]}`
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestAuth(t *testing.T) {
	srv := newGateway(t, func(g *gateway.Gateway) { g.Keys = claudebridge.NewClientKeys("k1", "", "k2") })
	body := message("hello", "")
	for _, c := range []struct {
		header map[string]string
		status int
	}{
		{nil, 401},
		{map[string]string{"x-api-key": "nope"}, 401},
		{map[string]string{"authorization": "Bearer nope"}, 401},
		{map[string]string{"x-api-key": "k1"}, 200},
		{map[string]string{"authorization": "Bearer k2"}, 200},
	} {
		resp := post(t, srv.URL+"/v1/messages", body, c.header)
		if resp.StatusCode != c.status {
			t.Errorf("%v: status %d, want %d", c.header, resp.StatusCode, c.status)
		}
		if c.status == 401 && readError(t, resp).Error.Type != "authentication_error" {
			t.Errorf("%v: wrong error type", c.header)
		}
	}
	resp, _ := http.Get(srv.URL + "/healthz")
	if resp.StatusCode != 200 || resp.Header.Get("request-id") == "" {
		t.Fatalf("healthz needs no key and has a request-id: %d", resp.StatusCode)
	}
}

func TestBadInputGetsAnthropicErrors(t *testing.T) {
	srv := newGateway(t, func(g *gateway.Gateway) { g.Upstream = &sampling.Upstream{Next: g.Upstream, Policy: sampling.Reject} })
	for _, c := range []struct {
		body, errType, mention string
		status                 int
	}{
		{`{"model":`, "invalid_request_error", "JSON", 400},
		{`{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, "invalid_request_error", "model", 400},
		{`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}`, "invalid_request_error", "max_tokens", 400},
		{`{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}`, "invalid_request_error", "messages", 400},
		{message("x", `"temperature":0.5,"top_p":0.5,`), "invalid_request_error", "top_p", 400},
		{`{"model":"claude-nonexistent-9","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, "not_found_error", "claude-nonexistent-9", 404},
		{`{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("a", anthropic.MaxBodyBytes) + `"}]}`, "request_too_large", "", 413},
	} {
		resp := post(t, srv.URL+"/v1/messages", c.body, nil)
		e := readError(t, resp)
		if resp.StatusCode != c.status || e.Error.Type != c.errType || !strings.Contains(e.Error.Message, c.mention) {
			t.Errorf("%.60s: %d %+v, want %d %s naming %q", c.body, resp.StatusCode, e.Error, c.status, c.errType, c.mention)
		}
	}
	resp := post(t, srv.URL+"/v1/nothing", "{}", nil)
	if resp.StatusCode != 404 || readError(t, resp).Error.Type != "not_found_error" {
		t.Fatalf("unknown route: %d", resp.StatusCode)
	}
}

func TestCORS(t *testing.T) {
	srv := newGateway(t, func(g *gateway.Gateway) {
		g.CORS = gateway.NewCORS("https://app.example")
		g.Keys = claudebridge.NewClientKeys("k")
	})
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/v1/messages", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "x-api-key, content-type, anthropic-version")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "x-api-key") || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, h)
	}
	resp = post(t, srv.URL+"/v1/messages", message("hi", ""), map[string]string{"Origin": "https://app.example", "x-api-key": "k"})
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "request-id") {
		t.Fatalf("request-id must be exposed: %v", resp.Header)
	}
	resp = post(t, srv.URL+"/v1/messages", message("hi", ""), map[string]string{"Origin": "https://evil.example", "x-api-key": "k"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("an origin that is not allowed got CORS headers")
	}
}

type sseEvent struct{ typ, data string }

func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var events []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.typ == "" {
				t.Fatalf("data-only event: %q", cur.data)
			}
			events = append(events, cur)
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data += line[6:]
		}
	}
	return events
}

func types(events []sseEvent) string {
	var s []string
	for _, e := range events {
		s = append(s, e.typ)
	}
	return strings.Join(s, " ")
}

func TestStreamPingsBeforeTheFirstByte(t *testing.T) {
	srv := newGateway(t, func(g *gateway.Gateway) { g.PingInterval = 50 * time.Millisecond })
	resp := post(t, srv.URL+"/v1/messages", message("[[wait=300]] hi", `"stream":true,`), nil)
	events := readSSE(t, resp.Body)
	if len(events) < 3 || events[0].typ != "ping" || events[len(events)-1].typ != "message_stop" {
		t.Fatalf("want pings, then the stream to message_stop: %s", types(events))
	}
	if events[0].data != string(anthropic.Ping) {
		t.Fatalf("ping data %q", events[0].data)
	}
}

func TestStreamFailures(t *testing.T) {
	srv := newGateway(t, func(g *gateway.Gateway) { g.ReadTimeout = 150 * time.Millisecond })
	for _, c := range []struct{ text, errType string }{
		{"[[cut=3]] hi", "api_error"},
		{"[[stream-error=3]] hi", "overloaded_error"},
		{"[[slow=400]] hi", "timeout_error"}, // mid-stream too, as Anthropic sends it
	} {
		resp := post(t, srv.URL+"/v1/messages", message(c.text, `"stream":true,`), nil)
		events := readSSE(t, resp.Body)
		last := events[len(events)-1]
		var e apiError
		json.Unmarshal([]byte(last.data), &e)
		if resp.StatusCode != 200 || last.typ != "error" || e.Error.Type != c.errType || e.Error.Message == "" {
			t.Errorf("%s: %d, events %s, last %q", c.text, resp.StatusCode, types(events), last.data)
		}
	}
	// Before the first byte, an upstream failure keeps its status.
	resp := post(t, srv.URL+"/v1/messages", message("[[throttle]] hi", `"stream":true,`), nil)
	if resp.StatusCode != 429 || readError(t, resp).Error.Type != "rate_limit_error" {
		t.Fatalf("throttled stream: %d", resp.StatusCode)
	}
}

func TestClientLeavingCancelsTheStream(t *testing.T) {
	srv := newGateway(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/messages", strings.NewReader(message("[[slow=50]] [[words=400]] hi", `"stream":true,`)))
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancel()
	resp.Body.Close()
	// The server side must not keep streaming: the next request on a fresh
	// connection is served at once, and the test's leak check (goleak-free:
	// httptest.Server.Close waits for handlers) returns promptly.
	srv.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("handlers still running %s after the client left", d)
	}
}

// getModels is GET path with the headers every official SDK sends.
func getModels(t *testing.T, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestModelsPaging(t *testing.T) {
	srv := newGateway(t, nil)
	get := func(q string) (page struct {
		Data []struct {
			Type, ID, DisplayName string
		}
		HasMore bool   `json:"has_more"`
		FirstID string `json:"first_id"`
		LastID  string `json:"last_id"`
	}) {
		resp := getModels(t, srv.URL+"/v1/models"+q)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %v", q, resp.Status)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(&page)
		return page
	}
	all := get("?limit=1000")
	if len(all.Data) < 5 || all.HasMore || all.FirstID != all.Data[0].ID || all.Data[0].Type != "model" {
		t.Fatalf("all: %+v", all)
	}
	p1 := get("?limit=2")
	p2 := get("?limit=2&after_id=" + p1.LastID)
	back := get("?limit=2&before_id=" + p2.FirstID)
	if !p1.HasMore || p2.FirstID != all.Data[2].ID || back.FirstID != p1.FirstID || back.HasMore {
		t.Fatalf("paging: %+v %+v %+v", p1, p2, back)
	}
	resp := getModels(t, srv.URL+"/v1/models/"+all.Data[1].ID)
	if resp.StatusCode != 200 {
		t.Fatalf("get model: %d", resp.StatusCode)
	}
	resp = getModels(t, srv.URL+"/v1/models/claude-none")
	if resp.StatusCode != 404 || readError(t, resp).Error.Type != "not_found_error" {
		t.Fatalf("unknown model: %d", resp.StatusCode)
	}
}

// The Models API needs anthropic-version as the Messages API does (the
// API's reference lists it as required): without one, or with one that is
// not a version, the list and a model get the API's 400.
func TestModelsAreRefusedWithoutAnAnthropicVersion(t *testing.T) {
	srv := newGateway(t, nil)
	for _, path := range []string{"/v1/models", "/v1/models?limit=2", "/v1/models/claude-sonnet-4-5", "/v1/models/claude-none"} {
		for _, tc := range []struct{ version, message string }{
			{"", "anthropic-version: header is required"},
			{"latest", `anthropic-version: "latest" is not a valid version`},
		} {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			if tc.version != "" {
				req.Header.Set("anthropic-version", tc.version)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
				t.Errorf("%s, version %q: status %d, want %d", path, tc.version, got, want)
			}
			e := readError(t, resp)
			if got, want := e.Error.Type, "invalid_request_error"; got != want {
				t.Errorf("%s, version %q: type %q, want %q", path, tc.version, got, want)
			}
			if got, want := e.Error.Message, tc.message; got != want {
				t.Errorf("%s, version %q: message %q, want %q", path, tc.version, got, want)
			}
		}
	}
}

// TestUpstreamRefusingTheGatewaysKeyIsNotTheClients: a wrong key of the
// gateway's own is a 502 api_error, never the 401 that tells a client (and
// Claude Code) that its own key is wrong.
func TestUpstreamRefusingTheGatewaysKeyIsNotTheClients(t *testing.T) {
	emu := httptest.NewServer(anthropicemu.New(anthropicemu.Options{APIKeys: []string{"upstream-key"}}))
	defer emu.Close()
	srv := httptest.NewServer(&gateway.Gateway{
		Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: emu.URL, Key: anthropicapi.StaticKey("revoked-key")}),
		Keys:     claudebridge.NewClientKeys("client-key"),
	})
	defer srv.Close()
	resp := post(t, srv.URL+"/v1/messages", message("hi", ""), map[string]string{"x-api-key": "client-key"})
	e := readError(t, resp)
	if resp.StatusCode != http.StatusBadGateway || e.Error.Type != "api_error" || !strings.Contains(e.Error.Message, "claudebridge's API key") {
		t.Fatalf("%d %+v", resp.StatusCode, e.Error)
	}
}

// TestStreamEventsReachTheClientAsTheyCome: each event, pings and the last
// ones included, reaches the client while the upstream waits for that very
// event to be seen before it sends the next one (or ends its response). A
// gateway that held events back for a burst or for the end of the response
// would never see the upstream go on.
func TestStreamEventsReachTheClientAsTheyCome(t *testing.T) {
	upstreamEvents := []string{
		`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":1,"output_tokens":1}}}`,
		`{"type":"ping"}`,
		`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`,
		`{"type":"content_block_stop","index":0}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}`,
		`{"type":"message_stop"}`,
	}
	seen := make(chan string)   // what the client read, event by event
	done := make(chan struct{}) // the upstream has answered, or given up
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range upstreamEvents {
			io.WriteString(w, "event: "+gjsonType(ev)+"\ndata: "+ev+"\n\n")
			w.(http.Flusher).Flush()
			select {
			case typ := <-seen:
				if typ != gjsonType(ev) {
					t.Errorf("client saw %s while the upstream had sent %s", typ, gjsonType(ev))
				}
			case <-time.After(10 * time.Second): // a failure, not a pause: the event never came
				t.Errorf("%s did not reach the client while the upstream waited", gjsonType(ev))
				return
			}
		}
	}))
	defer up.Close()
	srv := httptest.NewServer(&gateway.Gateway{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: up.URL, Key: anthropicapi.StaticKey("k")})})
	defer srv.Close()
	resp := post(t, srv.URL+"/v1/messages", message("hi", `"stream":true,`), nil)
	sc := bufio.NewScanner(resp.Body)
	n := 0
	for sc.Scan() {
		if typ, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			n++
			select {
			case seen <- typ:
			case <-done: // it gave up on an earlier event and said so
			}
		}
	}
	if n != len(upstreamEvents) {
		t.Fatalf("client read %d events, want %d", n, len(upstreamEvents))
	}
}

// TestStreamBurstArrivesWhole: events the upstream sent in one write all
// reach the client, in order.
func TestStreamBurstArrivesWhole(t *testing.T) {
	var stream strings.Builder
	for _, ev := range []string{
		`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":1,"output_tokens":1}}}`,
		`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	} {
		stream.WriteString("event: " + gjsonType(ev) + "\ndata: " + ev + "\n\n")
	}
	for range 50 {
		stream.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n")
	}
	stream.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	stream.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":50}}\n\n")
	stream.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Length", strconv.Itoa(stream.Len()))
		io.WriteString(w, stream.String()) // in one write: a burst
	}))
	defer up.Close()
	g := &gateway.Gateway{Upstream: anthropicapi.New(anthropicapi.Options{BaseURL: up.URL, Key: anthropicapi.StaticKey("k")})}
	req := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(message("hi", `"stream":true,`)))
	req.Header.Set("anthropic-version", "2023-06-01")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, req)
	events := readSSE(t, w.Body)
	if len(events) != 55 || events[len(events)-1].typ != "message_stop" {
		t.Fatalf("events: %s", types(events))
	}
}

func gjsonType(ev string) string {
	var v struct{ Type string }
	json.Unmarshal([]byte(ev), &v)
	return v.Type
}
