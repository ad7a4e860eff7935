package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/mock"
)

// request is an input line of the Message Batches format.
func request(id, text string) string {
	return fmt.Sprintf(`{"custom_id":%q,"params":{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":%q}]}}`, id, text)
}

// answer is a Messages answer whose text says which prompt it answers.
func answer(r *claudebridge.Request) *claudebridge.Response {
	var p struct {
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(r.JSON(), &p)
	text, _ := json.Marshal("answer to " + p.Messages[0].Content)
	usage := claudebridge.Usage{InputTokens: 10, OutputTokens: 5, CacheReadInputTokens: 3, CacheCreationInputTokens: 2}
	body := fmt.Sprintf(`{"id":"msg_01","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":3,"cache_creation_input_tokens":2}}`, r.Model, text)
	return &claudebridge.Response{Body: []byte(body), Usage: usage}
}

// recorder is an upstream that answers every call and remembers the
// prompts it was asked, in order.
type recorder struct {
	mu      sync.Mutex
	prompts []string
	fail    map[string]error // prompt → the error to answer it with
}

func (rc *recorder) upstream() *mock.Upstream {
	return &mock.Upstream{MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		var p struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		json.Unmarshal(r.JSON(), &p)
		prompt := p.Messages[0].Content
		rc.mu.Lock()
		rc.prompts = append(rc.prompts, prompt)
		rc.mu.Unlock()
		if err := rc.fail[prompt]; err != nil {
			return nil, err
		}
		return answer(r), nil
	}}
}

func (rc *recorder) asked() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	p := slices.Clone(rc.prompts)
	slices.Sort(p)
	return p
}

// files writes the input lines to a folder of the test's and returns the
// paths of the input and of the results file.
func files(t *testing.T, lines ...string) (in, out string) {
	t.Helper()
	dir := t.TempDir()
	in, out = filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return in, out
}

// results reads a results file: each line decoded, and the ids in order.
func results(t *testing.T, path string) (lines []map[string]any, ids []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("the results file does not end with a newline: %q", b)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("results line %q: %v", line, err)
		}
		lines = append(lines, m)
		id, _ := m["custom_id"].(string)
		if id == "" {
			id, _ = m["recordId"].(string)
		}
		ids = append(ids, id)
	}
	return lines, ids
}

func run(t *testing.T, up claudebridge.Upstream, f Format, in, out string) (Progress, error) {
	t.Helper()
	return (&Files{In: in, Out: out, Format: f, Runner: &Runner{Upstream: up, Concurrency: 3}}).Run(t.Context())
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestNoMoreThanConcurrencyCallsAreInFlightAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, most atomic.Int32
		gate := make(chan struct{})
		up := &mock.Upstream{MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-gate
			inFlight.Add(-1)
			return answer(r), nil
		}}
		var records []*Record
		for i := range 10 {
			rec, err := Anthropic{}.Record([]byte(request(fmt.Sprint("r", i), "hi")), i+1)
			if err != nil {
				t.Fatal(err)
			}
			records = append(records, rec)
		}
		var got []string
		finished := make(chan error)
		go func() {
			finished <- (&Runner{Upstream: up, Concurrency: 3}).Run(t.Context(), records, func(r Result) error {
				got = append(got, r.Record.ID)
				return nil
			})
		}()
		synctest.Wait() // every call that could start has started, and waits
		if got, want := inFlight.Load(), int32(3); got != want {
			t.Errorf("%d calls in flight while all wait, want %d", got, want)
		}
		close(gate)
		if err := <-finished; err != nil {
			t.Fatal(err)
		}
		if got, want := most.Load(), int32(3); got != want {
			t.Errorf("at most %d calls were in flight, want %d", got, want)
		}
		if got, want := len(got), 10; got != want {
			t.Errorf("%d results, want %d", got, want)
		}
	})
}

func TestASecondRunSkipsTheRecordsTheResultsFileHolds(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"))
	first := &recorder{}
	if _, err := run(t, first.upstream(), Anthropic{}, in, out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(strings.Join([]string{request("a", "one"), request("b", "two"), request("c", "three"), request("d", "four")}, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	second := &recorder{}
	p, err := run(t, second.upstream(), Anthropic{}, in, out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := second.asked(), []string{"four", "three"}; !slices.Equal(got, want) {
		t.Errorf("the second run asked %q, want %q", got, want)
	}
	if got, want := p.Skipped, 2; got != want {
		t.Errorf("skipped %d, want %d", got, want)
	}
	_, ids := results(t, out)
	if got, want := sorted(ids), []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("the results file has %q, want each id once: %q", got, want)
	}
}

func TestATornLastLineIsCutOffAndItsRecordRunAgain(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"))
	whole := string(Anthropic{}.Line(Result{Record: &Record{ID: "a"}, Response: answer(&claudebridge.Request{Model: "m", Body: []byte(`{"messages":[{"content":"one"}]}`)})}))
	torn := `{"custom_id":"b","result":{"type":"succ`
	if err := os.WriteFile(out, []byte(whole+"\n"+torn), 0o644); err != nil {
		t.Fatal(err)
	}
	rc := &recorder{}
	p, err := run(t, rc.upstream(), Anthropic{}, in, out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rc.asked(), []string{"two"}; !slices.Equal(got, want) {
		t.Errorf("asked %q, want %q", got, want)
	}
	if got, want := p.Cut, int64(len(torn)); got != want {
		t.Errorf("cut %d bytes, want %d", got, want)
	}
	_, ids := results(t, out)
	if got, want := ids, []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("the results file has %q, want %q", got, want)
	}
}

func TestGarbageAtTheEndOfTheResultsFileIsCutOffLikeATornLine(t *testing.T) {
	in, out := files(t, request("a", "one"))
	// What a crash of the machine may leave: a whole line of zeros.
	if err := os.WriteFile(out, []byte("\x00\x00\x00\x00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rc := &recorder{}
	if _, err := run(t, rc.upstream(), Anthropic{}, in, out); err != nil {
		t.Fatal(err)
	}
	_, ids := results(t, out)
	if got, want := ids, []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("the results file has %q, want %q", got, want)
	}
}

func TestAResultsFileWithGarbageBeforeResultsIsRefusedAndLeftAlone(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"))
	whole := string(Anthropic{}.Line(Result{Record: &Record{ID: "a"}, Err: claudebridge.Errorf(claudebridge.EINTERNAL, "x")}))
	content := "not a result\n" + whole + "\n"
	if err := os.WriteFile(out, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, &mock.Upstream{}, Anthropic{}, in, out)
	if got, want := err != nil && strings.Contains(err.Error(), "line 1 is not a result in the anthropic format"), true; got != want {
		t.Errorf("error %v, want one naming line 1", err)
	}
	b, _ := os.ReadFile(out)
	if got, want := string(b), content; got != want {
		t.Errorf("the results file became %q, want it untouched", got)
	}
}

func TestARepeatedIDIsRefusedBeforeAnyCall(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"), request("a", "three"))
	// A mock.Upstream with no MessagesFn panics if called.
	_, err := run(t, &mock.Upstream{}, Anthropic{}, in, out)
	if got, want := err != nil && strings.Contains(err.Error(), `line 3: id "a" is also on line 1`), true; got != want {
		t.Errorf("error %v, want one naming lines 3 and 1", err)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Errorf("the results file was made (%v), want nothing done", statErr)
	}
}

func TestACustomIDTheBatchesAPIRefusesIsRefused(t *testing.T) {
	_, err := Anthropic{}.Record([]byte(request("has space", "x")), 7)
	if got, want := err != nil && strings.HasPrefix(err.Error(), "line 7: custom_id"), true; got != want {
		t.Errorf("error %v, want one about line 7's custom_id", err)
	}
}

func TestAFailedCallIsAnErroredResultInTheAPIsErrorShapeAndTheRunGoesOn(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"), request("c", "three"))
	rc := &recorder{fail: map[string]error{"two": claudebridge.Errorf(claudebridge.EOVERLOADED, "Overloaded")}}
	p, err := run(t, rc.upstream(), Anthropic{}, in, out)
	if err != nil {
		t.Fatal(err)
	}
	lines, ids := results(t, out)
	if got, want := p.Summary.Errored, 1; got != want {
		t.Errorf("errored %d, want %d", got, want)
	}
	if got, want := p.Summary.Succeeded, 2; got != want {
		t.Errorf("succeeded %d, want %d", got, want)
	}
	for i, id := range ids {
		result := lines[i]["result"].(map[string]any)
		if id != "b" {
			if got, want := result["type"], "succeeded"; got != want {
				t.Errorf("%s: result.type %v, want %v", id, got, want)
			}
			msg := result["message"].(map[string]any)
			if got, want := msg["type"], "message"; got != want {
				t.Errorf("%s: result.message.type %v, want %v", id, got, want)
			}
			continue
		}
		if got, want := result["type"], "errored"; got != want {
			t.Errorf("b: result.type %v, want %v", got, want)
		}
		outer := result["error"].(map[string]any)
		if got, want := outer["type"], "error"; got != want {
			t.Errorf("b: result.error.type %v, want %v", got, want)
		}
		inner := outer["error"].(map[string]any)
		if got, want := inner["type"], "overloaded_error"; got != want {
			t.Errorf("b: result.error.error.type %v, want %v", got, want)
		}
		if got, want := inner["message"], "Overloaded"; got != want {
			t.Errorf("b: result.error.error.message %v, want %v", got, want)
		}
	}
}

func TestAStreamingRecordIsErroredWithoutACall(t *testing.T) {
	streaming := `{"custom_id":"s","params":{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"x"}]}}`
	in, out := files(t, streaming, request("a", "one"))
	rc := &recorder{}
	if _, err := run(t, rc.upstream(), Anthropic{}, in, out); err != nil {
		t.Fatal(err)
	}
	if got, want := rc.asked(), []string{"one"}; !slices.Equal(got, want) {
		t.Errorf("asked %q, want %q", got, want)
	}
	lines, ids := results(t, out)
	i := slices.Index(ids, "s")
	if i < 0 {
		t.Fatalf("no result for s in %q", ids)
	}
	inner := lines[i]["result"].(map[string]any)["error"].(map[string]any)["error"].(map[string]any)
	if got, want := inner["type"], "invalid_request_error"; got != want {
		t.Errorf("result.error.error.type %v, want %v", got, want)
	}
}

func TestAParamsTheMessagesAPIRefusesIsErroredWithItsMessage(t *testing.T) {
	rec, err := Anthropic{}.Record([]byte(`{"custom_id":"x","params":{"model":"claude-sonnet-4-5","messages":[]}}`), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := claudebridge.ErrorMessage(rec.Refused), "max_tokens: Field required"; got != want {
		t.Errorf("refused with %q, want %q", got, want)
	}
}

func TestTheSummaryAddsUpTokensAndCostsAtListPrices(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"))
	rc := &recorder{}
	p, err := run(t, rc.upstream(), Anthropic{}, in, out)
	if err != nil {
		t.Fatal(err)
	}
	u := p.Summary.Usage
	if got, want := u.InputTokens, 20; got != want {
		t.Errorf("input tokens %d, want %d", got, want)
	}
	if got, want := u.OutputTokens, 10; got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
	if got, want := u.CacheReadInputTokens, 6; got != want {
		t.Errorf("cache read tokens %d, want %d", got, want)
	}
	if got, want := u.CacheCreationInputTokens, 4; got != want {
		t.Errorf("cache write tokens %d, want %d", got, want)
	}
	one := anthropic.Cost("claude-sonnet-4-5", claudebridge.Usage{InputTokens: 10, OutputTokens: 5, CacheReadInputTokens: 3, CacheCreationInputTokens: 2})
	if got, want := p.Summary.Cost, 2*one; got != want || want == 0 {
		t.Errorf("cost %v, want %v", got, want)
	}
}

func TestTheSummaryCostsWithThePricesItIsGiven(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"))
	rc := &recorder{}
	f := &Files{In: in, Out: out, Format: Anthropic{}, Runner: &Runner{Upstream: rc.upstream(), Concurrency: 3},
		Price: func(model string, u claudebridge.Usage) float64 { return float64(u.OutputTokens) }}
	p, err := f.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Summary.Cost, 10.0; got != want {
		t.Errorf("cost %v, want %v (5 output tokens a call at $1 each)", got, want)
	}
}

func TestAnIndentedAnswerIsWrittenOnOneLine(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"))
	up := &mock.Upstream{MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		a := answer(r)
		var buf bytes.Buffer
		json.Indent(&buf, a.Body, "", "  ")
		a.Body = buf.Bytes()
		return a, nil
	}}
	if _, err := run(t, up, Anthropic{}, in, out); err != nil {
		t.Fatal(err)
	}
	_, ids := results(t, out)
	if got, want := sorted(ids), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("results %q, want %q", got, want)
	}
}

func TestStoppingStartsNoMoreRecordsAndLetsTheRunningOnesFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var calls atomic.Int32
		up := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			calls.Add(1)
			<-gate
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return answer(r), nil
		}}
		var records []*Record
		for i := range 5 {
			rec, _ := Anthropic{}.Record([]byte(request(fmt.Sprint("r", i), "hi")), i+1)
			records = append(records, rec)
		}
		stop, cancel := context.WithCancel(t.Context())
		var got []Result
		finished := make(chan error)
		go func() {
			finished <- (&Runner{Upstream: up, Concurrency: 2}).Run(stop, records, func(r Result) error {
				got = append(got, r)
				return nil
			})
		}()
		synctest.Wait()
		cancel()
		synctest.Wait()
		close(gate)
		err := <-finished
		if got, want := err, context.Canceled; got != want {
			t.Errorf("Run returned %v, want %v", got, want)
		}
		if got, want := calls.Load(), int32(2); got != want {
			t.Errorf("%d calls made, want %d", got, want)
		}
		if got, want := len(got), 2; got != want {
			t.Fatalf("%d results, want %d", got, want)
		}
		for _, r := range got {
			if got, want := r.Err, error(nil); got != want {
				t.Errorf("%s: %v, want the call to finish", r.Record.ID, got)
			}
		}
	})
}

func TestAResultThatCannotBeWrittenStartsNoMoreRecords(t *testing.T) {
	var records []*Record
	for i := range 6 {
		rec, _ := Anthropic{}.Record([]byte(request(fmt.Sprint("r", i), "hi")), i+1)
		records = append(records, rec)
	}
	var calls atomic.Int32
	up := &mock.Upstream{MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		calls.Add(1)
		return answer(r), nil
	}}
	full := fmt.Errorf("disk full")
	err := (&Runner{Upstream: up, Concurrency: 1}).Run(t.Context(), records, func(Result) error { return full })
	if got, want := err, full; got != want {
		t.Errorf("Run returned %v, want %v", got, want)
	}
	if got, want := calls.Load(), int32(1); got != want {
		t.Errorf("%d calls, want %d", got, want)
	}
}

func TestAStopOnceEveryRecordHasStartedIsNoInterruption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		up := &mock.Upstream{MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
			<-gate
			return answer(r), nil
		}}
		var records []*Record
		for i := range 2 {
			rec, _ := Anthropic{}.Record([]byte(request(fmt.Sprint("r", i), "hi")), i+1)
			records = append(records, rec)
		}
		stop, cancel := context.WithCancel(t.Context())
		finished := make(chan error)
		go func() {
			finished <- (&Runner{Upstream: up, Concurrency: 2}).Run(stop, records, func(Result) error { return nil })
		}()
		synctest.Wait()
		cancel()
		close(gate)
		if got, want := <-finished, error(nil); got != want {
			t.Errorf("Run returned %v, want %v: every record has its result", got, want)
		}
	})
}

func TestBetasOfTheRunReachEveryCall(t *testing.T) {
	in, out := files(t, request("a", "one"), request("b", "two"))
	var mu sync.Mutex
	var got [][]string
	up := &mock.Upstream{MessagesFn: func(_ context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		mu.Lock()
		got = append(got, r.Betas)
		mu.Unlock()
		return answer(r), nil
	}}
	f := &Files{In: in, Out: out, Format: Anthropic{}, Runner: &Runner{Upstream: up}, Betas: []string{"extended-cache-ttl-2025-04-11"}}
	if _, err := f.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := len(got), 2; got != want {
		t.Fatalf("%d calls, want %d", got, want)
	}
	for _, betas := range got {
		if got, want := betas, []string{"extended-cache-ttl-2025-04-11"}; !slices.Equal(got, want) {
			t.Errorf("betas %q, want %q", got, want)
		}
	}
}

func TestAnOutThatIsSomeOtherFileIsRefusedAndLeftAlone(t *testing.T) {
	in, out := files(t, request("a", "one"))
	content := "first line of some notes\nsecond line\n"
	if err := os.WriteFile(out, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, &mock.Upstream{}, Anthropic{}, in, out)
	if got, want := err != nil && strings.Contains(err.Error(), "line 1 is not a result in the anthropic format"), true; got != want {
		t.Errorf("error %v, want one naming line 1", err)
	}
	b, _ := os.ReadFile(out)
	if got, want := string(b), content; got != want {
		t.Errorf("the file became %q, want it untouched", got)
	}
}

func TestTheInputAsItsOwnResultsFileIsRefusedAndLeftAlone(t *testing.T) {
	in, _ := files(t, request("a", "one"))
	before, _ := os.ReadFile(in)
	_, err := run(t, &mock.Upstream{}, Anthropic{}, in, in)
	if got, want := err != nil && strings.Contains(err.Error(), "both the input and the results file"), true; got != want {
		t.Errorf("error %v, want a refusal", err)
	}
	after, _ := os.ReadFile(in)
	if got, want := string(after), string(before); got != want {
		t.Errorf("the input became %q, want it untouched", got)
	}
}
