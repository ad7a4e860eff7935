package bedrock

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
)

// rawUpstream is an Upstream in front of h, a stand-in that answers with
// whatever bytes a test needs rather than the emulator's.
func rawUpstream(t *testing.T, h http.HandlerFunc) *Upstream {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u := New(Options{
		AWS: aws.Config{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
			BaseEndpoint: aws.String(srv.URL),
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	select {
	case <-u.discovered:
	case <-time.After(5 * time.Second):
		t.Fatal("discovery did not finish")
	}
	return u
}

// An error answer whose body is not JSON (a load balancer's page, a plain
// text) still says what it is by its X-Amzn-ErrorType header or status.
func TestNonJSONErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		status int
		kind   string // X-Amzn-ErrorType, "" for none
		body   string
		code   string
	}{
		{429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "Too many requests, please wait before trying again.", claudebridge.ERATELIMIT},
		{429, "", "Too Many Requests", claudebridge.ERATELIMIT},
		{503, "", "<html><body>503 Service Unavailable</body></html>", claudebridge.EOVERLOADED},
		{400, "ValidationException", "not json", claudebridge.EINVALID},
		{403, "", "<html>Forbidden</html>", claudebridge.EPERMISSION},
		{404, "", "Not Found", claudebridge.ENOTFOUND},
		{502, "", "<html>Bad Gateway</html>", claudebridge.EINTERNAL},
	} {
		u := rawUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if tc.kind != "" {
				w.Header().Set("X-Amzn-ErrorType", tc.kind)
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(tc.status)
			w.Write([]byte(tc.body))
		})
		_, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "Hi")))
		var ce *claudebridge.Error
		if !errors.As(err, &ce) || ce.Code != tc.code || ce.Status != tc.status {
			t.Errorf("%d %q: got %+v, want code %s", tc.status, tc.kind, err, tc.code)
		}
	}
}

// Bedrock's request validator refuses an unknown top-level key as
// "Malformed input request: #: extraneous key [k] is not permitted"
// (e.g. output_config on a model without it): the key is dropped,
// remembered for the model, and the call succeeds.
func TestLearnsExtraneousTopLevelKey(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	u := rawUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.HasSuffix(r.URL.Path, "/invoke") {
			w.WriteHeader(404)
			return
		}
		mu.Lock()
		bodies = append(bodies, string(body))
		mu.Unlock()
		if bytes.Contains(body, []byte(`"output_config"`)) {
			w.Header().Set("X-Amzn-ErrorType", "ValidationException")
			w.WriteHeader(400)
			w.Write([]byte(`{"message":"Malformed input request: #: extraneous key [output_config] is not permitted, please reformat your input and try again."}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"msg_1","type":"message","role":"assistant","model":"x","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}`))
	})
	body := `{"model":"claude-sonnet-4-5","max_tokens":20,"output_config":{"effort":"low"},"messages":[{"role":"user","content":"Hi"}]}`
	for i := 0; i < 2; i++ {
		if _, err := u.Messages(context.Background(), request(t, body)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 3 || strings.Contains(bodies[1], "output_config") || !strings.Contains(bodies[1], `"messages"`) {
		t.Errorf("bodies sent: %q", bodies)
	}
}

// TestModelsAreTheAccountsOnceListed: once the account's ListFoundationModels
// names Claude models, GET /v1/models offers those, not the table's guesses
// of what exists (a chat without ANTHROPIC_MODEL_ID takes the first one).
func TestModelsAreTheAccountsOnceListed(t *testing.T) {
	emu := bedrockemu.New(bedrockemu.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/foundation-models" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"modelSummaries":[{"modelId":"anthropic.claude-sonnet-4-5-20250929-v1:0","modelName":"Claude Sonnet 4.5","providerName":"Anthropic","inferenceTypesSupported":["INFERENCE_PROFILE"]}]}`)
			return
		}
		emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	u := New(Options{AWS: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")},
		Logger: slog.New(slog.DiscardHandler)})
	select {
	case <-u.discovered:
	case <-time.After(5 * time.Second):
		t.Fatal("discovery did not finish")
	}
	after, _ := u.Models(context.Background())
	if len(after) != 1 || after[0].ID != "claude-sonnet-4-5-20250929" {
		t.Fatalf("after discovery: %+v", after)
	}
}

// standIn serves the emulator behind a front that answers the control plane
// and model ids as another endpoint would.
func standIn(t *testing.T, front func(w http.ResponseWriter, r *http.Request) bool) (*Upstream, *[]string) {
	t.Helper()
	emu := bedrockemu.New(bedrockemu.Options{})
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.EscapedPath())
		mu.Unlock()
		if !front(w, r) {
			emu.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	u := New(Options{AWS: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")},
		Logger: slog.New(slog.DiscardHandler)})
	select {
	case <-u.discovered:
	case <-time.After(5 * time.Second):
		t.Fatal("discovery did not finish")
	}
	return u, &paths
}

func invokes(paths []string) []string {
	var out []string
	for _, p := range paths {
		if strings.HasSuffix(p, "/invoke") {
			out = append(out, p)
		}
	}
	return out
}

// TestProfileRefusedFallsBackToBaseID: an endpoint that knows no inference
// profiles (and no control plane) answers the table's profile id with
// "invalid identifier"; the call goes again with the base id, and the next
// call goes there at once.
func TestProfileRefusedFallsBackToBaseID(t *testing.T) {
	u, paths := standIn(t, func(w http.ResponseWriter, r *http.Request) bool {
		p := r.URL.EscapedPath()
		switch {
		case !strings.HasPrefix(p, "/model/"):
			http.NotFound(w, r) // no control plane
			return true
		case strings.HasPrefix(p, "/model/us."):
			w.Header().Set("X-Amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")
			w.WriteHeader(400)
			io.WriteString(w, `{"message":"The provided model identifier is invalid."}`)
			return true
		}
		// This endpoint serves base ids on demand: the emulator is asked
		// with the profile it needs.
		r.URL.Path = strings.Replace(r.URL.Path, "/model/anthropic.", "/model/us.anthropic.", 1)
		r.URL.RawPath = ""
		return false
	})
	for i := 0; i < 2; i++ {
		if _, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "hi"))); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got := invokes(*paths)
	if len(got) != 3 || !strings.Contains(got[0], "/us.") || strings.Contains(got[1], "/us.") || strings.Contains(got[2], "/us.") {
		t.Fatalf("invoke paths %v: want the profile once, then the base id", got)
	}
}

// TestOnDemandRefusedMovesToProfile: an account list that says a model runs
// on demand when it does not; Bedrock's refusal moves the call to the
// region's profile, and the next call goes there at once.
func TestOnDemandRefusedMovesToProfile(t *testing.T) {
	u, paths := standIn(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/foundation-models" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"modelSummaries":[{"modelId":"anthropic.claude-sonnet-4-5-20250929-v1:0","providerName":"Anthropic","inferenceTypesSupported":["ON_DEMAND"]}]}`)
			return true
		}
		return false
	})
	for i := 0; i < 2; i++ {
		if _, err := u.Messages(context.Background(), request(t, userText("claude-sonnet-4-5", "hi"))); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got := invokes(*paths)
	if len(got) != 3 || strings.Contains(got[0], "/us.") || !strings.Contains(got[1], "/us.") || !strings.Contains(got[2], "/us.") {
		t.Fatalf("invoke paths %v: want the base id once, then the profile", got)
	}
}
