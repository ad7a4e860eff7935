// Package metrics is claudebridge's Prometheus instrumentation: the
// collectors every door records its calls into, and the /metrics handler.
//
// A call is recorded once, when it ends, by the door that served it
// (Observe): its door, model, upstream, client key, upstream member and
// status, its latency, its time to the first token, its tokens by kind and
// its cost. Label values are bounded: models are the model table's ids or
// "other", statuses are the few the doors answer with, doors and token
// kinds are fixed lists, keys are the store's virtual keys (made by an
// admin, never by a client) and "static" and "none", members are those of
// UPSTREAMS or the one upstream. The
// children of each label set are looked up once and kept, so that a call
// costs a map read and a few atomic adds.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/anthropic"
	"github.com/claudebridge/claudebridge/models"
)

// Door is where a call came in.
type Door uint8

// The doors, as their "door" label names them.
const (
	Messages           Door = iota // POST /v1/messages
	CountTokens                    // POST /v1/messages/count_tokens
	BedrockInvoke                  // /model/{id}/invoke and invoke-with-response-stream
	BedrockConverse                // /model/{id}/converse and converse-stream
	BedrockCountTokens             // /model/{id}/count-tokens
	Chat                           // the chat's turns
	Batch                          // the calls of the Message Batches API's batches
	BatchCLI                       // the calls of `claudebridge batch`, which serves no metrics: the ledger's door only
	doors
)

var doorNames = [doors]string{"messages", "count_tokens", "bedrock_invoke", "bedrock_converse", "bedrock_count_tokens", "chat", "batch", "batch_cli"}

func (d Door) String() string { return doorNames[d] }

// The kinds of tokens, as their "kind" label names them.
const (
	kindInput = iota
	kindOutput
	kindCacheRead
	kindCacheWrite5m
	kindCacheWrite1h
	kinds
)

var kindNames = [kinds]string{"input", "output", "cache_read", "cache_write_5m", "cache_write_1h"}

// Buckets are the latency buckets, in seconds: LLM calls take from a tenth
// of a second (count_tokens, a short answer's first token) to minutes (long
// answers with thinking), up to REQUEST_TIMEOUT.
var Buckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}

// Call is one finished call, as its door saw it.
type Call struct {
	Door Door
	// Model is the model id the client asked for; "" when the request was
	// refused before its body was read. It is recorded as the model
	// table's id for it, or "other".
	Model string
	// Status is the HTTP status the call was answered with; for a stream
	// that failed after it began, the status of its error.
	Status int
	// Duration is from the request's arrival to the call's end.
	Duration time.Duration
	// FirstToken is from the request's arrival to the first content
	// delta of a stream; zero when there was none.
	FirstToken time.Duration
	// Usage is the call's tokens, which are also priced for the cost.
	Usage claudebridge.Usage
	// Key is the client key's label, as KeyLabel makes it; "" is KeyNone.
	Key string
	// Member is the upstream member that served the call (ServedBy);
	// "" is the upstream New was given.
	Member string
	// RequestID is the id the client was given; Caller who made the call.
	// Neither is a label: listeners (the ledger) read them.
	RequestID string
	Caller    claudebridge.Caller
}

// The "key" label of calls made without a virtual key.
// No virtual key may take either name (claudebridge.Key.Validate).
const (
	KeyStatic = claudebridge.StaticKeyName // a static key: API_KEYS, BEARER_TOKEN, BEDROCK_ACCESS_KEYS
	KeyNone   = claudebridge.NoKeyName     // no key: open doors, refused keys, the chat's users
)

// KeyLabel is the "key" label of a call: the virtual key's name when it has
// one (virtual, never its secret), else KeyStatic when the door asks for
// keys (keyed), else KeyNone.
func KeyLabel(virtual string, keyed bool) string {
	switch {
	case virtual != "":
		return virtual
	case keyed:
		return KeyStatic
	}
	return KeyNone
}

// callLabels are the labels of every per-call series, less "status" for
// those that have it: a new label is one more here, one more field of
// seriesKey and its value in series.
var callLabels = []string{"door", "model", "upstream", "key", "member"}

// Metrics holds the collectors of one process, and the listeners that
// hear every finished call beside them (the ledger). A nil *Metrics
// records nothing, so that doors built without one (tests, tools) pay
// nothing; one made by Unserved has listeners and no collectors.
type Metrics struct {
	listeners []func(Call)
	// price is what a call cost: the ledger's price table when PriceWith
	// was called, else the built-in list prices (anthropic.Cost).
	price func(model string, u claudebridge.Usage) float64

	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	firstToken *prometheus.HistogramVec
	tokens     *prometheus.CounterVec
	cost       *prometheus.CounterVec
	retries    *prometheus.CounterVec
	streams    [doors]prometheus.Gauge
	// failovers and memberState are the upstream pool's (pool.go).
	failovers   *prometheus.CounterVec
	memberState *prometheus.GaugeVec

	upstream string // the "member" of a call that names none

	mu     sync.RWMutex
	series map[seriesKey]*series
}

// New returns the collectors, registered with a registry of their own
// beside the Go runtime's and the process's. upstream names the upstream
// every call goes to ("bedrock", "anthropic", "emulator"): it is the value
// of every series' "upstream" label, and the "member" of calls that no
// pool member served.
func New(upstream string) *Metrics {
	up := prometheus.Labels{"upstream": upstream}
	withStatus := append(append([]string(nil), callLabels...), "status")
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "claudebridge_requests_total",
			Help: "Calls answered, by door, model, upstream, client key, upstream member and HTTP status."}, withStatus),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "claudebridge_request_duration_seconds",
			Help: "Time from a call's arrival to its end, streams to their last event.", Buckets: Buckets}, withStatus),
		firstToken: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "claudebridge_time_to_first_token_seconds",
			Help: "Time from a stream's arrival to its first content delta.", Buckets: Buckets}, callLabels),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "claudebridge_tokens_total",
			Help: "Tokens of the calls, by kind: input, output, cache_read, cache_write_5m, cache_write_1h."},
			append(append([]string(nil), callLabels...), "kind")),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "claudebridge_cost_usd_total",
			Help: "What the calls cost at list prices, in US dollars (0 for models without a known price)."}, callLabels),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "claudebridge_upstream_retries_total",
			Help: "Upstream calls sent again, by operation and by the error code of the failure retried."},
			[]string{"upstream", "op", "reason"}),
		upstream: upstream,
		series:   map[seriesKey]*series{},
	}
	m.failovers, m.memberState = newPoolCollectors()
	streams := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "claudebridge_streams_in_flight",
		Help: "Streams being answered, by door."}, []string{"door"})
	for d := range doors {
		m.streams[d] = streams.WithLabelValues(d.String())
	}
	m.registry.MustRegister(m.requests, m.duration, m.firstToken, m.tokens, m.cost, m.retries, streams, m.failovers, m.memberState,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.requests = m.requests.MustCurryWith(up)
	m.duration = m.duration.MustCurryWith(up).(*prometheus.HistogramVec)
	m.firstToken = m.firstToken.MustCurryWith(up).(*prometheus.HistogramVec)
	m.tokens = m.tokens.MustCurryWith(up)
	m.cost = m.cost.MustCurryWith(up)
	m.retries = m.retries.MustCurryWith(up)
	m.failovers = m.failovers.MustCurryWith(up)
	m.memberState = m.memberState.MustCurryWith(up)
	return m
}

// Unserved returns a Metrics without collectors, whose Observe only
// tells its listeners: for a process that serves no /metrics but keeps a
// ledger.
func Unserved() *Metrics { return &Metrics{} }

// Listen has f hear every call Observe records, in the goroutine of the
// door that ends it: f must be quick (the ledger's is a queue send). Call
// it before the doors serve.
func (m *Metrics) Listen(f func(Call)) {
	m.listeners = append(m.listeners, f)
}

// PriceWith has the cost counter price calls with f, the price table the
// ledger uses (PRICES_FILE), rather than the built-in list prices. Call it
// before the doors serve.
func (m *Metrics) PriceWith(f func(model string, u claudebridge.Usage) float64) {
	if m != nil {
		m.price = f
	}
}

// served reports whether m has collectors.
func (m *Metrics) served() bool { return m != nil && m.registry != nil }

// seriesKey is a label set of the per-call series, its model already
// bounded.
type seriesKey struct {
	door   Door
	model  string
	key    string
	member string
	status int
}

// series are the children of one label set.
type series struct {
	requests   prometheus.Counter
	duration   prometheus.Observer
	firstToken prometheus.Observer
	tokens     [kinds]prometheus.Counter
	cost       prometheus.Counter
}

// seriesOf returns the children of k, made on first use.
func (m *Metrics) seriesOf(k seriesKey) *series {
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.series[k]; s != nil {
		return s
	}
	door, status := k.door.String(), strconv.Itoa(k.status)
	s = &series{
		requests:   m.requests.WithLabelValues(door, k.model, k.key, k.member, status),
		duration:   m.duration.WithLabelValues(door, k.model, k.key, k.member, status),
		firstToken: m.firstToken.WithLabelValues(door, k.model, k.key, k.member),
		cost:       m.cost.WithLabelValues(door, k.model, k.key, k.member),
	}
	for i := range kinds {
		s.tokens[i] = m.tokens.WithLabelValues(door, k.model, k.key, k.member, kindNames[i])
	}
	m.series[k] = s
	return s
}

// Observe records a finished call.
func (m *Metrics) Observe(c Call) {
	if m == nil {
		return
	}
	for _, f := range m.listeners {
		f(c)
	}
	if m.registry == nil {
		return
	}
	k := seriesKey{door: c.Door, model: ModelLabel(c.Model), key: c.Key, member: c.Member, status: c.Status}
	if k.key == "" {
		k.key = KeyNone
	}
	if k.member == "" {
		k.member = m.upstream
	}
	s := m.seriesOf(k)
	s.requests.Inc()
	s.duration.Observe(c.Duration.Seconds())
	if c.FirstToken > 0 {
		s.firstToken.Observe(c.FirstToken.Seconds())
	}
	u := c.Usage
	if u == (claudebridge.Usage{}) {
		return
	}
	// Cache writes by lifetime as anthropic.Cost prices them: those not
	// said to be 1-hour are 5-minute, the default.
	long := min(u.CacheCreation.Ephemeral1hInputTokens, u.CacheCreationInputTokens)
	for i, n := range [kinds]int{u.InputTokens, u.OutputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens - long, long} {
		if n > 0 {
			s.tokens[i].Add(float64(n))
		}
	}
	price := m.price
	if price == nil {
		price = anthropic.Cost
	}
	if cost := price(c.Model, u); cost > 0 {
		s.cost.Add(cost)
	}
}

// StreamOpened and StreamClosed count a stream of door in flight.
func (m *Metrics) StreamOpened(d Door) {
	if m.served() {
		m.streams[d].Inc()
	}
}

// StreamClosed ends what StreamOpened began.
func (m *Metrics) StreamClosed(d Door) {
	if m.served() {
		m.streams[d].Dec()
	}
}

// Retried counts an upstream call of op ("messages", "stream", ...) sent
// again after err; the reason is err's code in the error vocabulary.
func (m *Metrics) Retried(op string, err error) {
	if m.served() {
		m.retries.WithLabelValues(op, claudebridge.ErrorCode(err)).Inc()
	}
}

// ChatTurns has claudebridge_chat_turns_in_flight read its value from
// running, the chat's count of answers being written. Call it once.
func (m *Metrics) ChatTurns(running func() int) {
	if !m.served() {
		return
	}
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "claudebridge_chat_turns_in_flight",
		Help: "Chat answers being written."}, func() float64 { return float64(running()) }))
}

// Handler serves the metrics in Prometheus's text format. With adminKey
// it asks for "Authorization: Bearer <adminKey>" (compared in constant
// time) and answers 401 without it; with "" it is open, for a listener of
// its own.
func (m *Metrics) Handler(adminKey string) http.Handler {
	h := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	if adminKey == "" {
		return h
	}
	keys := claudebridge.NewClientKeys(adminKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !keys.Allow(strings.TrimSpace(token)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="claudebridge metrics"`)
			http.Error(w, "ADMIN_KEY is needed as a Bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tableIDs maps every Anthropic id, alias and Bedrock base id of the model
// table to the model's id.
var tableIDs = func() map[string]string {
	ids := map[string]string{}
	for _, m := range models.All {
		for _, id := range []string{m.ID, m.Alias, m.Bedrock.ID} {
			if id != "" {
				ids[id] = m.ID
			}
		}
	}
	return ids
}()

// ModelLabel is the "model" label of a model id: the model table's id for
// any of its ids, aliases, Bedrock ids, profiles and ARNs, else "other", so
// that clients cannot make series without end.
func ModelLabel(id string) string {
	if label, ok := tableIDs[id]; ok {
		return label
	}
	if m, ok := models.Lookup(id); ok {
		return m.ID
	}
	return "other"
}

// Ledger has the ledger's queue be seen: claudebridge_ledger_queue_depth
// (entries waiting to be written), claudebridge_ledger_queue_waits_total
// (calls that found the queue full and waited for room) and
// claudebridge_ledger_failed_total (entries the store refused, each
// logged). Call it once.
func (m *Metrics) Ledger(depth func() int, waits, failed func() int64) {
	if !m.served() {
		return
	}
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "claudebridge_ledger_queue_depth",
			Help: "Ledger entries waiting to be written."}, func() float64 { return float64(depth()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "claudebridge_ledger_queue_waits_total",
			Help: "Calls whose ledger entry found the queue full and waited for room."}, func() float64 { return float64(waits()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "claudebridge_ledger_failed_total",
			Help: "Ledger entries the store refused after retries (each logged)."}, func() float64 { return float64(failed()) }))
}
