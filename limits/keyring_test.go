package limits_test

import (
	"context"
	"io"
	"testing"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/mock"
)

// add creates a key of that name and limits and returns its secret.
func add(t *testing.T, s *mock.Keys, k claudebridge.Key) string {
	t.Helper()
	secret, err := s.Add(k)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestAStoredKeyIsFoundWithItsLimitsAndAStaticKeyWithNone(t *testing.T) {
	s := &mock.Keys{}
	secret := add(t, s, claudebridge.Key{Name: "ci", RPM: 2})
	ring, err := limits.NewKeyring(context.Background(), claudebridge.NewClientKeys("static"), s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ring.Lookup(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Key.Name, "ci"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	e, err = ring.Lookup("static")
	if err != nil || e != nil {
		t.Errorf("static key: entry %v, err %v; want none, nil", e, err)
	}
	if _, err := ring.Lookup("wrong"); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Errorf("wrong key: err = %v, want auth", err)
	}
	if _, err := ring.Lookup(""); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Errorf("no key: err = %v, want auth", err)
	}
}

func TestAStoredKeyClosesTheDoorsWithoutStaticKeys(t *testing.T) {
	s := &mock.Keys{}
	ring, _ := limits.NewKeyring(context.Background(), nil, s, nil, nil)
	if !ring.Open() {
		t.Fatal("no key at all: not open")
	}
	if _, err := ring.Lookup(""); err != nil {
		t.Fatalf("open: %v", err)
	}
	add(t, s, claudebridge.Key{Name: "ci"})
	ring.Refresh(context.Background())
	if ring.Open() {
		t.Error("a stored key: still open")
	}
	if _, err := ring.Lookup(""); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Errorf("no key: err = %v, want auth", err)
	}
}

func TestRevokingTheLastStoredKeyDoesNotOpenTheDoors(t *testing.T) {
	s := &mock.Keys{}
	add(t, s, claudebridge.Key{Name: "ci"})
	ring, _ := limits.NewKeyring(context.Background(), nil, s, nil, nil)
	s.RevokeKey(context.Background(), "ci")
	ring.Refresh(context.Background())
	if ring.Open() {
		t.Error("open after the last key was revoked")
	}
	if _, err := ring.Lookup(""); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Errorf("no key: err = %v, want auth", err)
	}
}

func TestARevokedKeyIsRefusedAfterTheNextRefresh(t *testing.T) {
	s := &mock.Keys{}
	secret := add(t, s, claudebridge.Key{Name: "ci"})
	ring, _ := limits.NewKeyring(context.Background(), claudebridge.NewClientKeys("static"), s, nil, nil)
	s.RevokeKey(context.Background(), "ci")
	if err := ring.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Lookup(secret); claudebridge.ErrorCode(err) != claudebridge.EAUTH {
		t.Errorf("revoked key: err = %v, want auth", err)
	}
}

func TestARefreshReadsTheKeysOnlyWhenTheirVersionMovedAndKeepsTheCounts(t *testing.T) {
	s := &mock.Keys{}
	secret := add(t, s, claudebridge.Key{Name: "ci", RPM: 1})
	ring, _ := limits.NewKeyring(context.Background(), nil, s, nil, nil)
	e, _ := ring.Lookup(secret)
	if _, _, err := e.Limiter.Admit(1); err != nil {
		t.Fatal(err)
	}
	ring.Refresh(context.Background())
	if got, want := s.Reads, 1; got != want {
		t.Errorf("reads with no change = %d, want %d", got, want)
	}
	add(t, s, claudebridge.Key{Name: "other"})
	ring.Refresh(context.Background())
	if got, want := s.Reads, 2; got != want {
		t.Errorf("reads after a change = %d, want %d", got, want)
	}
	e, _ = ring.Lookup(secret)
	if _, _, err := e.Limiter.Admit(1); claudebridge.ErrorCode(err) != claudebridge.ERATELIMIT {
		t.Errorf("second request after a reload: err = %v, want rate limit", err)
	}
}

func TestAKeyRefusesAModelNotOnItsList(t *testing.T) {
	s := &mock.Keys{}
	secret := add(t, s, claudebridge.Key{Name: "ci", Models: []string{"claude-haiku-4-5"}})
	ring, _ := limits.NewKeyring(context.Background(), nil, s, nil, nil)
	e, _ := ring.Lookup(secret)
	_, _, err := e.Admit(context.Background(), "claude-opus-4-1", make([]byte, 100), 10)
	if got, want := claudebridge.ErrorCode(err), claudebridge.EPERMISSION; got != want {
		t.Fatalf("code = %q, want %q", got, want)
	}
	if got, want := claudebridge.ErrorMessage(err), "This API key may not use the model claude-opus-4-1"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if _, _, err := e.Admit(context.Background(), "claude-haiku-4-5", make([]byte, 100), 10); err != nil {
		t.Errorf("listed model: %v", err)
	}
}

func TestAModelOnAKeysListAllowsTheIdsThatNameTheSameModel(t *testing.T) {
	s := &mock.Keys{}
	secret := add(t, s, claudebridge.Key{Name: "ci", Models: []string{"claude-sonnet-4-5"}})
	ring, _ := limits.NewKeyring(context.Background(), nil, s, nil, nil)
	e, _ := ring.Lookup(secret)
	for _, id := range []string{"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"} {
		if !e.AllowsModel(id) {
			t.Errorf("%s refused", id)
		}
	}
	if e.AllowsModel("claude-haiku-4-5") {
		t.Error("claude-haiku-4-5 allowed")
	}
}

func TestACallWhoseWorstCaseCostsOverTheCapIsRefusedNamingBoth(t *testing.T) {
	s := &mock.Keys{}
	// claude-sonnet-4-5: $15 out per million tokens, and the input at its
	// dearest, a 1-hour cache write, $6.
	secret := add(t, s, claudebridge.Key{Name: "ci", MaxCostPerRequest: 0.01})
	ring, _ := limits.NewKeyring(context.Background(), nil, s, nil, &limits.Spending{Prices: cost.Builtin(), Upstream: "anthropic"})
	e, _ := ring.Lookup(secret)
	_, _, err := e.Admit(context.Background(), "claude-sonnet-4-5", make([]byte, 4000), 1000) // 1000 in, 1000 out: $0.021
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Fatalf("code = %q, want %q", got, want)
	}
	if got, want := claudebridge.ErrorMessage(err), "This request may cost up to $0.0210 (about 1000 input tokens and max_tokens 1000 of claude-sonnet-4-5), over this key's limit of $0.0100 per request"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if _, _, err := e.Admit(context.Background(), "claude-sonnet-4-5", make([]byte, 4000), 200); err != nil { // $0.009
		t.Errorf("under the cap: %v", err)
	}
}

func TestAKeysCapPricesWithThePriceTableOfThePricesFile(t *testing.T) {
	s := &mock.Keys{}
	secret := add(t, s, claudebridge.Key{Name: "ci", MaxCostPerRequest: 0.01})
	// Built in, 1000 tokens in and 1000 out cost at worst $0.021 (over the
	// cap) and 1000 in and 200 out $0.009 (under it); these prices turn
	// both around.
	cheap, err := cost.Parse([]byte(`{"models":{"claude-sonnet-4-5":{"input":1,"output":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	dear, err := cost.Parse([]byte(`{"models":{"claude-sonnet-4-5":{"input":1,"output":100}}}`))
	if err != nil {
		t.Fatal(err)
	}
	admit := func(prices *cost.Table, maxTokens int) error {
		ring, err := limits.NewKeyring(context.Background(), nil, s, nil, &limits.Spending{Prices: prices, Upstream: "anthropic"})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := ring.Lookup(secret)
		_, _, err = e.Admit(context.Background(), "claude-sonnet-4-5", make([]byte, 4000), maxTokens)
		return err
	}
	if err := admit(cheap, 1000); err != nil { // $0.002
		t.Errorf("cheap prices, 1000 out: %v, want it admitted", err)
	}
	err = admit(dear, 200) // $0.021
	if got, want := claudebridge.ErrorCode(err), claudebridge.EINVALID; got != want {
		t.Fatalf("dear prices, 200 out: code %q, want %q", got, want)
	}
	if got, want := claudebridge.ErrorMessage(err), "This request may cost up to $0.0210 (about 1000 input tokens and max_tokens 200 of claude-sonnet-4-5), over this key's limit of $0.0100 per request"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// events is a stream of fixed events.
type events struct{ list []claudebridge.Event }

func (e *events) Next() (claudebridge.Event, error) {
	if len(e.list) == 0 {
		return claudebridge.Event{}, io.EOF
	}
	ev := e.list[0]
	e.list = e.list[1:]
	return ev, nil
}
func (e *events) Close() error { return nil }

type streaming struct{ claudebridge.Upstream }

func (streaming) Stream(context.Context, *claudebridge.Request) (claudebridge.Stream, error) {
	return &events{list: []claudebridge.Event{
		{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"usage":{"input_tokens":70,"output_tokens":1}}}`)},
		{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}}`)},
		{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
	}}, nil
}

func TestAStreamsUsageReplacesItsEstimate(t *testing.T) {
	l := limits.NewLimiter(&claudebridge.Key{TPM: 1000}, nil)
	tk, _, _ := l.Admit(900)
	up := limits.Upstream{Upstream: streaming{}}
	s, err := up.Stream(limits.WithTicket(context.Background(), tk), &claudebridge.Request{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := s.Next(); err != nil {
			break
		}
	}
	tk.Release()
	_, st, err := l.Admit(1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.TokensRemaining, 1000-100-1; got != want {
		t.Errorf("remaining = %d, want %d", got, want)
	}
}

type failing struct{ claudebridge.Upstream }

func (failing) Messages(context.Context, *claudebridge.Request) (*claudebridge.Response, error) {
	return nil, claudebridge.Errorf(claudebridge.EOVERLOADED, "Overloaded")
}

func TestAFailedCallGivesBackItsTokenEstimate(t *testing.T) {
	l := limits.NewLimiter(&claudebridge.Key{TPM: 1000}, nil)
	tk, _, _ := l.Admit(900)
	up := limits.Upstream{Upstream: failing{}}
	if _, err := up.Messages(limits.WithTicket(context.Background(), tk), &claudebridge.Request{}); err == nil {
		t.Fatal("no error")
	}
	tk.Release()
	_, st, err := l.Admit(1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.TokensRemaining, 999; got != want {
		t.Errorf("remaining = %d, want %d", got, want)
	}
}
