package batches_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/batches"
	"github.com/claudebridge/claudebridge/internal/metricstest"
	"github.com/claudebridge/claudebridge/metrics"
	"github.com/claudebridge/claudebridge/mock"
	"github.com/claudebridge/claudebridge/sqlite"
)

// signalingStore tells ended of each batch it ends.
type signalingStore struct {
	*sqlite.DB
	ended, refused chan string
	archived       chan int
}

// ArchiveBatches tells archived how many it archived, when archived is set.
func (s *signalingStore) ArchiveBatches(ctx context.Context, before, now time.Time) (int, error) {
	n, err := s.DB.ArchiveBatches(ctx, before, now)
	if s.archived != nil {
		s.archived <- n
	}
	return n, err
}

func (s *signalingStore) EndBatch(ctx context.Context, id, rest string, now time.Time) error {
	err := s.DB.EndBatch(ctx, id, rest, now)
	s.ended <- id
	return err
}

// ClaimBatch tells refused of each claim it refuses, when refused is set.
func (s *signalingStore) ClaimBatch(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	held, err := s.DB.ClaimBatch(ctx, id, owner, now, until)
	if !held && s.refused != nil {
		s.refused <- id
	}
	return held, err
}

func openStore(t *testing.T) *signalingStore {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "batches.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &signalingStore{DB: db, ended: make(chan string, 10)}
}

// echo answers each call at once with a message whose text is the
// request's user text.
func echo() *mock.Upstream {
	return &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		return &claudebridge.Response{Body: []byte(`{"type":"message","content":[{"type":"text","text":` + string(userText(r)) + `}]}`)}, nil
	}}
}

// userText is the content of the request's first message.
func userText(r *claudebridge.Request) json.RawMessage {
	var m []struct {
		Content json.RawMessage `json:"content"`
	}
	json.Unmarshal(r.Fields["messages"], &m)
	return m[0].Content
}

type api struct {
	t     *testing.T
	h     *batches.Handler
	store *signalingStore
	owner string // the virtual key the calls are made with; "": static or none
}

func newAPI(t *testing.T, store *signalingStore, s *batches.Scheduler) *api {
	return &api{t: t, h: &batches.Handler{Store: store, Scheduler: s}, store: store}
}

// do serves one call and returns its status and body.
func (a *api) do(method, path, body string) (int, []byte, http.Header) {
	a.t.Helper()
	r := httptest.NewRequest(method, "http://gw.test"+path, strings.NewReader(body))
	r = r.WithContext(batches.WithOwner(r.Context(), a.owner))
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes(), w.Header()
}

type wireBatch struct {
	ID                string         `json:"id"`
	Type              string         `json:"type"`
	ProcessingStatus  string         `json:"processing_status"`
	RequestCounts     map[string]int `json:"request_counts"`
	EndedAt           *string        `json:"ended_at"`
	CreatedAt         string         `json:"created_at"`
	ExpiresAt         string         `json:"expires_at"`
	CancelInitiatedAt *string        `json:"cancel_initiated_at"`
	ResultsURL        *string        `json:"results_url"`
}

func (a *api) batch(method, path, body string) wireBatch {
	a.t.Helper()
	status, b, _ := a.do(method, path, body)
	if status != http.StatusOK {
		a.t.Fatalf("%s %s: %d %s", method, path, status, b)
	}
	var out wireBatch
	if err := json.Unmarshal(b, &out); err != nil {
		a.t.Fatal(err)
	}
	return out
}

// requests is a create body of one request per text, custom_id r0, r1, ...
func requests(texts ...string) string {
	var list []string
	for i, text := range texts {
		list = append(list, fmt.Sprintf(`{"custom_id":"r%d","params":{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":%q}]}}`, i, text))
	}
	return `{"requests":[` + strings.Join(list, ",") + `]}`
}

// results returns the result lines of batch id by custom_id, and fails on a
// custom_id seen twice.
func (a *api) results(id string) map[string]string {
	a.t.Helper()
	status, body, h := a.do("GET", batches.Prefix+"/"+id+"/results", "")
	if status != http.StatusOK {
		a.t.Fatalf("results: %d %s", status, body)
	}
	if got, want := h.Get("Content-Type"), "application/x-jsonl"; got != want {
		a.t.Errorf("results content-type %q, want %q", got, want)
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(body), "\n"), "\n") {
		var r struct {
			CustomID string `json:"custom_id"`
			Result   struct {
				Type string `json:"type"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			a.t.Fatalf("result line %q: %v", line, err)
		}
		if _, dup := out[r.CustomID]; dup {
			a.t.Errorf("custom_id %s has two results", r.CustomID)
		}
		out[r.CustomID] = r.Result.Type
	}
	return out
}

func waitEnded(t *testing.T, store *signalingStore, id string) {
	t.Helper()
	select {
	case got := <-store.ended:
		if got != id {
			t.Fatalf("batch %s ended, want %s", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("batch %s did not end", id)
	}
}

func TestABatchRunsEachRequestOnceAndEndsWithAResultForEach(t *testing.T) {
	store := openStore(t)
	s := &batches.Scheduler{Store: store, Upstream: echo(), Concurrency: 2}
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })
	a := newAPI(t, store, s)
	created := a.batch("POST", batches.Prefix, strings.Replace(requests("one", "two", "three"), `"max_tokens":10,`, `"max_tokens":10,"stream":true,`, 1))
	waitEnded(t, store, created.ID)

	got := a.batch("GET", batches.Prefix+"/"+created.ID, "")
	if got, want := got.ProcessingStatus, "ended"; got != want {
		t.Errorf("processing_status %q, want %q", got, want)
	}
	if got, want := got.RequestCounts["succeeded"], 2; got != want {
		t.Errorf("succeeded %d, want %d", got, want)
	}
	if got, want := got.RequestCounts["errored"], 1; got != want {
		t.Errorf("errored %d, want %d (a streaming request is refused)", got, want)
	}
	if got.EndedAt == nil {
		t.Errorf("ended_at is null once ended")
	}
	if got, want := *got.ResultsURL, "http://gw.test/v1/messages/batches/"+created.ID+"/results"; got != want {
		t.Errorf("results_url %q, want %q", got, want)
	}
	results := a.results(created.ID)
	want := map[string]string{"r0": "errored", "r1": "succeeded", "r2": "succeeded"}
	for id, typ := range want {
		if got := results[id]; got != typ {
			t.Errorf("result of %s: %q, want %q", id, got, typ)
		}
	}
}

func TestABatchHasTheAPIsShapeAndCountsEveryRequestAsProcessingUntilItEnds(t *testing.T) {
	store := openStore(t)
	a := newAPI(t, store, &batches.Scheduler{}) // not started: the batch stays in progress
	status, body, _ := a.do("POST", batches.Prefix, requests("a", "b"))
	if status != http.StatusOK {
		t.Fatalf("create: %d %s", status, body)
	}
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if got, want := strings.Join(keys, ","), "id,type,processing_status,request_counts,ended_at,created_at,expires_at,archived_at,cancel_initiated_at,results_url"; got != want {
		t.Errorf("keys %s\nwant %s", got, want)
	}
	var b wireBatch
	json.Unmarshal(body, &b)
	if got, want := b.Type, "message_batch"; got != want {
		t.Errorf("type %q, want %q", got, want)
	}
	if got, want := b.ProcessingStatus, "in_progress"; got != want {
		t.Errorf("processing_status %q, want %q", got, want)
	}
	if got, want := b.RequestCounts, map[string]int{"processing": 2, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("request_counts %v, want %v", got, want)
	}
	if b.ResultsURL != nil || b.EndedAt != nil || b.CancelInitiatedAt != nil {
		t.Errorf("results_url, ended_at, cancel_initiated_at: %v %v %v, want null", b.ResultsURL, b.EndedAt, b.CancelInitiatedAt)
	}
	created, _ := time.Parse(time.RFC3339Nano, b.CreatedAt)
	expires, _ := time.Parse(time.RFC3339Nano, b.ExpiresAt)
	if got, want := expires.Sub(created), 24*time.Hour; got != want {
		t.Errorf("expires_at - created_at = %s, want %s", got, want)
	}
	if got, want := len(b.CreatedAt), len("2024-08-20T18:37:24.100435Z"); got != want {
		t.Errorf("created_at %q: %d characters, want %d", b.CreatedAt, got, want)
	}
	if !strings.HasPrefix(b.ID, "msgbatch_") {
		t.Errorf("id %q, want msgbatch_...", b.ID)
	}
}

func TestRequestsNotStartedWhenABatchIsCanceledAreCanceledResults(t *testing.T) {
	store := openStore(t)
	started, release := make(chan string), make(chan struct{})
	up := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		started <- string(userText(r))
		<-release
		return echo().Messages(ctx, r)
	}}
	s := &batches.Scheduler{Store: store, Upstream: up, Concurrency: 1}
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })
	a := newAPI(t, store, s)
	created := a.batch("POST", batches.Prefix, requests("one", "two", "three"))
	<-started
	canceling := a.batch("POST", batches.Prefix+"/"+created.ID+"/cancel", "")
	if got, want := canceling.ProcessingStatus, "canceling"; got != want {
		t.Errorf("processing_status after cancel %q, want %q", got, want)
	}
	if canceling.CancelInitiatedAt == nil {
		t.Errorf("cancel_initiated_at is null after cancel")
	}
	close(release) // the request running goes on to its end
	waitEnded(t, store, created.ID)
	ended := a.batch("GET", batches.Prefix+"/"+created.ID, "")
	if got, want := ended.RequestCounts["succeeded"], 1; got != want {
		t.Errorf("succeeded %d, want %d", got, want)
	}
	if got, want := ended.RequestCounts["canceled"], 2; got != want {
		t.Errorf("canceled %d, want %d", got, want)
	}
	results := a.results(created.ID)
	if got, want := results["r0"]+","+results["r1"]+","+results["r2"], "succeeded,canceled,canceled"; got != want {
		t.Errorf("results %s, want %s", got, want)
	}
}

func TestCallsCutByAStopAreRunAgainByTheNextSchedulerAndEachRequestHasOneResult(t *testing.T) {
	store := openStore(t)
	started, release := make(chan string, 10), make(chan struct{})
	var calls []string
	first := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		started <- string(userText(r))
		select {
		case <-release:
			return echo().Messages(ctx, r)
		case <-ctx.Done():
			return nil, claudebridge.Errorf(claudebridge.ECANCELED, "cut")
		}
	}}
	s1 := &batches.Scheduler{Store: store, Upstream: first, Concurrency: 2}
	s1.Start()
	a := newAPI(t, store, s1)
	created := a.batch("POST", batches.Prefix, requests("a", "b", "c", "d", "e"))
	calls = append(calls, <-started, <-started)
	release <- struct{}{} // one call ends and is stored; the next starts
	calls = append(calls, <-started)
	over, cancel := context.WithCancel(context.Background())
	cancel()
	s1.Stop(over) // no grace: the two calls running are cut

	b, err := store.Batch(context.Background(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Counts.Succeeded+b.Counts.Errored, 1; got != want {
		t.Fatalf("results after the stop: %d, want %d (cut calls are not results)", got, want)
	}

	s2 := &batches.Scheduler{Store: store, Upstream: echo(), Concurrency: 2}
	s2.Start()
	t.Cleanup(func() { s2.Stop(context.Background()) })
	waitEnded(t, store, created.ID)
	results := a.results(created.ID)
	if got, want := len(results), 5; got != want {
		t.Errorf("%d results, want %d: %v", got, want, results)
	}
	for _, id := range []string{"r0", "r1", "r2", "r3", "r4"} {
		if got, want := results[id], "succeeded"; got != want {
			t.Errorf("result of %s: %q, want %q", id, got, want)
		}
	}
	slices.Sort(calls)
	if got, want := strings.Join(calls, ","), `"a","b","c"`; got != want {
		t.Errorf("first scheduler's calls %s, want %s", got, want)
	}
}

func TestWhatABatchHasNotRunWithinADayExpires(t *testing.T) {
	store := openStore(t)
	s := &batches.Scheduler{Store: store, Upstream: echo(), Now: func() time.Time { return time.Now().Add(25 * time.Hour) }}
	a := newAPI(t, store, s)
	created := a.batch("POST", batches.Prefix, requests("a", "b"))
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })
	waitEnded(t, store, created.ID)
	ended := a.batch("GET", batches.Prefix+"/"+created.ID, "")
	if got, want := ended.RequestCounts["expired"], 2; got != want {
		t.Errorf("expired %d, want %d", got, want)
	}
	if got, want := a.results(created.ID)["r1"], "expired"; got != want {
		t.Errorf("result of r1 %q, want %q", got, want)
	}
}

type apiError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func (a *api) error(method, path, body string, status int, typ string) string {
	a.t.Helper()
	got, b, _ := a.do(method, path, body)
	if got != status {
		a.t.Errorf("%s %s: status %d, want %d (%s)", method, path, got, status, b)
	}
	var e apiError
	json.Unmarshal(b, &e)
	if e.Type != "error" || e.Error.Type != typ {
		a.t.Errorf("%s %s: %s, want an error of type %s", method, path, b, typ)
	}
	return e.Error.Message
}

func TestBadCreateBodiesAreRefusedWithTheFieldTheyGetWrong(t *testing.T) {
	a := newAPI(t, openStore(t), &batches.Scheduler{})
	for _, c := range []struct{ body, names string }{
		{`[]`, "not valid JSON"},
		{`{}`, "requests: Field required"},
		{`{"requests":[]}`, "at least 1 item"},
		{`{"requests":[{"params":{}}]}`, "requests.0.custom_id: Field required"},
		{`{"requests":[{"custom_id":"a b","params":{}}]}`, "requests.0.custom_id"},
		{`{"requests":[{"custom_id":"a","params":[]}]}`, "requests.0.params"},
		{`{"requests":[{"custom_id":"a","params":{}},{"custom_id":"a","params":{}}]}`, "requests.1.custom_id"},
		{`{"requests":[{"custom_id":"a","params":{}}],"model":"x"}`, "model: Extra inputs"},
	} {
		if msg := a.error("POST", batches.Prefix, c.body, http.StatusBadRequest, "invalid_request_error"); !strings.Contains(msg, c.names) {
			t.Errorf("%s: message %q, want it to name %q", c.body, msg, c.names)
		}
	}
}

func TestUnknownBatchesAreNotFoundAndOnlyEndedOnesDeletedOrRead(t *testing.T) {
	store := openStore(t)
	a := newAPI(t, store, &batches.Scheduler{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/msgbatch_01nope"}, {"POST", "/msgbatch_01nope/cancel"}, {"DELETE", "/msgbatch_01nope"},
		{"GET", "/msgbatch_01nope/results"}, {"PUT", ""}, {"GET", "/msgbatch_01nope/other"},
	} {
		a.error(c.method, batches.Prefix+c.path, "", http.StatusNotFound, "not_found_error")
	}
	created := a.batch("POST", batches.Prefix, requests("a"))
	a.error("DELETE", batches.Prefix+"/"+created.ID, "", http.StatusBadRequest, "invalid_request_error")
	a.error("GET", batches.Prefix+"/"+created.ID+"/results", "", http.StatusBadRequest, "invalid_request_error")
	if err := store.DB.EndBatch(context.Background(), created.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatal(err)
	}
	status, body, _ := a.do("DELETE", batches.Prefix+"/"+created.ID, "")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("delete: %d %s", got, body)
	}
	if got, want := string(body), `{"id":"`+created.ID+`","type":"message_batch_deleted"}`; got != want {
		t.Errorf("delete answered %s, want %s", got, want)
	}
	a.error("GET", batches.Prefix+"/"+created.ID, "", http.StatusNotFound, "not_found_error")
}

func TestTheListPagesNewestFirstAsTheSDKsFollowIt(t *testing.T) {
	a := newAPI(t, openStore(t), &batches.Scheduler{})
	var ids []string
	for range 3 {
		ids = append(ids, a.batch("POST", batches.Prefix, requests("a")).ID)
	}
	type page struct {
		Data    []wireBatch `json:"data"`
		HasMore bool        `json:"has_more"`
		FirstID *string     `json:"first_id"`
		LastID  *string     `json:"last_id"`
	}
	get := func(query string) page {
		t.Helper()
		status, body, _ := a.do("GET", batches.Prefix+query, "")
		if status != http.StatusOK {
			t.Fatalf("list%s: %d %s", query, status, body)
		}
		var p page
		json.Unmarshal(body, &p)
		return p
	}
	p := get("?limit=2")
	if got, want := p.Data[0].ID+","+p.Data[1].ID, ids[2]+","+ids[1]; got != want {
		t.Errorf("first page %s, want %s", got, want)
	}
	if got, want := p.HasMore, true; got != want {
		t.Errorf("has_more %v, want %v", got, want)
	}
	if got, want := *p.FirstID+","+*p.LastID, ids[2]+","+ids[1]; got != want {
		t.Errorf("first_id,last_id %s, want %s", got, want)
	}
	next := get("?limit=2&after_id=" + *p.LastID)
	if got, want := len(next.Data), 1; got != want {
		t.Fatalf("second page: %d batches, want %d", got, want)
	}
	if got, want := next.Data[0].ID, ids[0]; got != want {
		t.Errorf("second page %s, want %s", got, want)
	}
	if got, want := next.HasMore, false; got != want {
		t.Errorf("second page has_more %v, want %v", got, want)
	}
	back := get("?limit=2&before_id=" + ids[0])
	if got, want := back.Data[0].ID+","+back.Data[1].ID, ids[2]+","+ids[1]; got != want {
		t.Errorf("page before the oldest %s, want %s", got, want)
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?before_id=" + ids[0] + "&after_id=" + ids[1]} {
		a.error("GET", batches.Prefix+q, "", http.StatusBadRequest, "invalid_request_error")
	}
	if empty := get("?after_id=" + ids[0]); empty.FirstID != nil || len(empty.Data) != 0 {
		t.Errorf("page after the oldest: %+v, want no data and first_id null", empty)
	}
}

func TestABatchAnotherServeHoldsIsLeftToIt(t *testing.T) {
	store := openStore(t)
	store.refused = make(chan string, 10)
	a := newAPI(t, store, &batches.Scheduler{})
	created := a.batch("POST", batches.Prefix, requests("a"))
	now := time.Now()
	if held, err := store.DB.ClaimBatch(context.Background(), created.ID, "another serve", now, now.Add(time.Minute)); !held || err != nil {
		t.Fatalf("claim: %v, %v", held, err)
	}
	up := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		t.Errorf("a call was made for a batch another serve holds")
		return echo().Messages(ctx, r)
	}}
	s := &batches.Scheduler{Store: store, Upstream: up}
	s.Start()
	if got, want := <-store.refused, created.ID; got != want {
		t.Errorf("refused a claim on %s, want %s", got, want)
	}
	s.Stop(context.Background())
}

func TestStoppingASchedulerThatNeverStartedReturnsAtOnce(t *testing.T) {
	s := &batches.Scheduler{Store: openStore(t), Upstream: echo()}
	done := make(chan struct{})
	go func() { s.Stop(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop waited for a scheduler that never started")
	}
}

func TestABatchOfMoreThan100000RequestsIsRefused(t *testing.T) {
	a := newAPI(t, openStore(t), &batches.Scheduler{})
	var b strings.Builder
	b.WriteString(`{"requests":[`)
	for i := range batches.MaxRequests + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"custom_id":"r%d","params":{}}`, i)
	}
	b.WriteString(`]}`)
	if msg := a.error("POST", batches.Prefix, b.String(), http.StatusBadRequest, "invalid_request_error"); !strings.Contains(msg, "100000") {
		t.Errorf("message %q does not name the limit", msg)
	}
}

func TestTheBetaFlagsOfTheCreateCallGoWithEveryRequest(t *testing.T) {
	store := openStore(t)
	betas := make(chan string, 2)
	up := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		betas <- strings.Join(r.Betas, ",")
		return echo().Messages(ctx, r)
	}}
	s := &batches.Scheduler{Store: store, Upstream: up}
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })
	h := &batches.Handler{Store: store, Scheduler: s}
	r := httptest.NewRequest("POST", batches.Prefix, strings.NewReader(requests("a", "b")))
	r.Header.Set("anthropic-beta", "context-1m-2025-08-07,interleaved-thinking-2025-05-14")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	for range 2 {
		if got, want := <-betas, "context-1m-2025-08-07,interleaved-thinking-2025-05-14"; got != want {
			t.Errorf("a request's betas %q, want %q", got, want)
		}
	}
}

func TestBatchesTakeTurnsAChunkEach(t *testing.T) {
	store := openStore(t)
	var calls []string
	up := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		calls = append(calls, strings.Trim(string(userText(r)), `"`)[:1]) // one call at a time: Concurrency 1
		return echo().Messages(ctx, r)
	}}
	s := &batches.Scheduler{Store: store, Upstream: up, Concurrency: 1}
	a := newAPI(t, store, s)
	texts := func(p string) []string {
		var list []string
		for i := range 20 {
			list = append(list, fmt.Sprint(p, i))
		}
		return list
	}
	first := a.batch("POST", batches.Prefix, requests(texts("A")...))
	second := a.batch("POST", batches.Prefix, requests(texts("B")...))
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })
	waitEnded(t, store, first.ID)
	waitEnded(t, store, second.ID)
	// A chunk is 16 requests a call slot.
	if got, want := strings.Join(calls, ""), strings.Repeat("A", 16)+strings.Repeat("B", 16)+"AAAA"+"BBBB"; got != want {
		t.Errorf("calls in the order %s, want %s", got, want)
	}
}

func TestTheResultsOfABatchPastTheirKeepingAreRemovedAndItIsArchived(t *testing.T) {
	store := openStore(t)
	store.archived = make(chan int, 1)
	s := &batches.Scheduler{Store: store, Upstream: echo(), KeepResults: time.Nanosecond}
	a := newAPI(t, store, s)
	created := a.batch("POST", batches.Prefix, requests("a"))
	if err := store.DB.EndBatch(context.Background(), created.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })
	if got, want := <-store.archived, 1; got != want {
		t.Fatalf("archived %d batches, want %d", got, want)
	}
	b := a.batch("GET", batches.Prefix+"/"+created.ID, "")
	var got struct {
		ArchivedAt *string `json:"archived_at"`
	}
	_, body, _ := a.do("GET", batches.Prefix+"/"+created.ID, "")
	json.Unmarshal(body, &got)
	if got.ArchivedAt == nil {
		t.Errorf("archived_at is null after archiving: %s", body)
	}
	if got, want := b.ProcessingStatus, "ended"; got != want {
		t.Errorf("processing_status %q, want %q", got, want)
	}
	a.error("GET", batches.Prefix+"/"+created.ID+"/results", "", http.StatusNotFound, "not_found_error")
}

// as returns a, its calls made with the virtual key named owner.
func (a *api) as(owner string) *api {
	b := *a
	b.owner = owner
	return &b
}

func TestABatchIsSeenOnlyWithTheKeyThatMadeIt(t *testing.T) {
	store := openStore(t)
	mine := newAPI(t, store, &batches.Scheduler{}).as("team-a")
	created := mine.batch("POST", batches.Prefix, requests("a"))
	static := newAPI(t, store, &batches.Scheduler{})
	statics := static.batch("POST", batches.Prefix, requests("b"))
	if err := store.DB.EndBatch(context.Background(), created.ID, claudebridge.ResultCanceled, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, other := range []*api{mine.as("team-b"), static} {
		for _, c := range []struct{ method, path string }{
			{"GET", "/" + created.ID}, {"POST", "/" + created.ID + "/cancel"},
			{"GET", "/" + created.ID + "/results"}, {"DELETE", "/" + created.ID},
		} {
			other.error(c.method, batches.Prefix+c.path, "", http.StatusNotFound, "not_found_error")
		}
	}
	list := func(a *api) string {
		var page struct{ Data []wireBatch }
		_, body, _ := a.do("GET", batches.Prefix, "")
		json.Unmarshal(body, &page)
		var ids []string
		for _, b := range page.Data {
			ids = append(ids, b.ID)
		}
		return strings.Join(ids, ",")
	}
	if got, want := list(mine), created.ID; got != want {
		t.Errorf("team-a lists %q, want %q", got, want)
	}
	if got, want := list(static), statics.ID; got != want {
		t.Errorf("a static key lists %q, want %q", got, want)
	}
	if got, want := list(mine.as("team-b")), ""; got != want {
		t.Errorf("team-b lists %q, want %q", got, want)
	}
	if got, want := mine.batch("GET", batches.Prefix+"/"+created.ID, "").ID, created.ID; got != want {
		t.Errorf("team-a retrieves %q, want %q", got, want)
	}
	status, body, _ := mine.do("DELETE", batches.Prefix+"/"+created.ID, "")
	if got, want := status, http.StatusOK; got != want {
		t.Errorf("team-a deletes its batch: %d %s, want %d", got, body, want)
	}
}

func TestTheCallsOfABatchAreRecordedAsTheBatchDoorOfItsKey(t *testing.T) {
	store := openStore(t)
	m := metrics.New("emulator")
	s := &batches.Scheduler{Store: store, Upstream: echo(), Metrics: m, Keyed: func() bool { return true }}
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })
	mine := newAPI(t, store, s).as("team-a")
	created := mine.batch("POST", batches.Prefix, requests("one", "two"))
	waitEnded(t, store, created.ID)
	statics := newAPI(t, store, s).batch("POST", batches.Prefix, requests("three"))
	waitEnded(t, store, statics.ID)
	f := metricstest.Scrape(t, m.Handler(""), "")
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "batch", "key": "team-a", "status": "200"}), 2.0; got != want {
		t.Errorf("batch calls of team-a %v, want %v", got, want)
	}
	if got, want := f.Value("claudebridge_requests_total", map[string]string{"door": "batch", "key": "static", "status": "200"}), 1.0; got != want {
		t.Errorf("batch calls of static keys %v, want %v", got, want)
	}
}

func TestABatchsCallsAreMadeForTheKeyThatCreatedIt(t *testing.T) {
	store := openStore(t)
	callers := make(chan string, 2)
	up := &mock.Upstream{MessagesFn: func(ctx context.Context, r *claudebridge.Request) (*claudebridge.Response, error) {
		callers <- claudebridge.CallerFrom(ctx).Key
		return echo().Messages(ctx, r)
	}}
	s := &batches.Scheduler{Store: store, Upstream: up}
	s.Start()
	t.Cleanup(func() { s.Stop(context.Background()) })
	h := &batches.Handler{Store: store, Scheduler: s}
	r := httptest.NewRequest("POST", batches.Prefix, strings.NewReader(requests("a", "b")))
	r = r.WithContext(batches.WithOwner(r.Context(), "ci"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	for range 2 {
		if got, want := <-callers, "ci"; got != want {
			t.Errorf("a request's caller key %q, want %q", got, want)
		}
	}
}
