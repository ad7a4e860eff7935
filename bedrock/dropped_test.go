package bedrock

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
)

// A learned drop is not silent: the request's Dropped names the field, on
// the call that learned it and on the next, which drops it at once.
func TestLearnedFieldDropsAreNoted(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	body := `{"model":"claude-opus-4-8","max_tokens":100,` +
		`"tools":[{"name":"a","input_schema":{"type":"object"},"strict":true}],` +
		`"messages":[{"role":"user","content":"use a tool"}]}`
	for i := range 2 {
		ctx, d := claudebridge.WithDropped(context.Background())
		if _, err := u.Messages(ctx, request(t, body)); err != nil {
			t.Fatal(err)
		}
		if got, want := d.String(), "fields=tools.0.strict"; got != want {
			t.Errorf("call %d: dropped %q, want %q", i, got, want)
		}
	}
}

// Beta flags left out, learned or by the operator's DropBetas, are noted.
func TestDroppedBetasAreNoted(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	u.opts.DropBetas = []string{"interleaved-thinking-2025-05-14"}
	const unknown = "made-up-feature-2099-01-01"
	ctx, d := claudebridge.WithDropped(context.Background())
	r := request(t, userText("claude-opus-4-8", "Hello"), "interleaved-thinking-2025-05-14", unknown)
	if _, err := u.Messages(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), "betas=interleaved-thinking-2025-05-14,"+unknown; got != want {
		t.Errorf("dropped %q, want %q", got, want)
	}
}

// A stream's drops are known when Stream returns, before the first event.
func TestStreamDropsAreNotedWhenTheStreamOpens(t *testing.T) {
	u, _, _ := emulated(t, "us-east-1")
	body := `{"model":"claude-opus-4-8","max_tokens":100,"stream":true,` +
		`"tools":[{"name":"a","input_schema":{"type":"object"},"strict":true}],` +
		`"messages":[{"role":"user","content":"use a tool"}]}`
	ctx, d := claudebridge.WithDropped(context.Background())
	s, err := u.Stream(ctx, request(t, body))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := d.String(), "fields=tools.0.strict"; got != want {
		t.Errorf("dropped %q, want %q", got, want)
	}
}

// With StrictFields the model's refusal of a field reaches the client as
// the 400 it is; nothing is dropped or learned.
func TestStrictFieldsPassesTheRefusalOn(t *testing.T) {
	srv := httptest.NewServer(bedrockemu.New(bedrockemu.Options{Region: "us-east-1"}))
	t.Cleanup(srv.Close)
	u := New(Options{
		AWS: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")},
		Logger:       slog.New(slog.DiscardHandler),
		StrictFields: true,
	})
	select {
	case <-u.discovered:
	case <-time.After(5 * time.Second):
		t.Fatal("discovery did not finish")
	}
	body := `{"model":"claude-opus-4-8","max_tokens":100,` +
		`"tools":[{"name":"a","input_schema":{"type":"object"},"strict":true}],` +
		`"messages":[{"role":"user","content":"use a tool"}]}`
	for i := range 2 {
		_, err := u.Messages(context.Background(), request(t, body))
		if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
			t.Errorf("call %d: code %q, want %q", i, got, want)
		}
	}
	_, err := u.Messages(context.Background(), request(t, userText("claude-opus-4-8", "Hello"), "made-up-feature-2099-01-01"))
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Errorf("unknown beta: code %q, want %q", got, want)
	}
}
