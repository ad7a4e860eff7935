package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/admin"
	"github.com/claudebridge/claudebridge/anthropicapi"
	"github.com/claudebridge/claudebridge/batches"
	"github.com/claudebridge/claudebridge/bedrock"
	"github.com/claudebridge/claudebridge/bedrockfront"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/emulator"
	"github.com/claudebridge/claudebridge/emulator/bedrockemu"
	"github.com/claudebridge/claudebridge/gateway"
	"github.com/claudebridge/claudebridge/internal/openguard"
	"github.com/claudebridge/claudebridge/internal/redact"
	"github.com/claudebridge/claudebridge/ledger"
	"github.com/claudebridge/claudebridge/limits"
	"github.com/claudebridge/claudebridge/metrics"
	"github.com/claudebridge/claudebridge/pool"
	"github.com/claudebridge/claudebridge/retry"
	"github.com/claudebridge/claudebridge/sampling"
)

const serveUsage = `Usage: claudebridge serve [--listen HOST:PORT] [--insecure]

Serves the Anthropic Messages API (/v1/), the Bedrock runtime API (/model/)
and the chat (/) on one port, from AWS Bedrock, the Anthropic API or, with
no credentials in sight, the built-in Bedrock emulator.

Ctrl-C or SIGTERM stops taking connections and gives calls in flight
SHUTDOWN_GRACE to finish; a second one exits at once.

Flags:
`

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listenAddr := fs.String("listen", "", "address to listen on, HOST:PORT (default $LISTEN_ADDR, else 127.0.0.1:8080)")
	insecure := fs.Bool("insecure", false, "serve without API_KEYS or BEARER_TOKEN on a non-loopback address")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\nSettings, read from the environment at start-up:\n")
		printSettings(fs.Output())
	}
	if helped, err := parseFlags(fs, args, stdout, stderr); helped || err != nil {
		return err
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	if *listenAddr != "" {
		cfg.Listen = *listenAddr
	}
	cfg.Insecure = *insecure
	if err := cfg.checkTrustedHeader(); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, err := newApp(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	// On the way out (SIGTERM, Ctrl-C, a failure) the ledger's queue is
	// written and the database closed, after the server has drained.
	defer a.Close()
	// A stored key closes the doors as API_KEYS does, for good: revoking
	// the last one does not open them (limits.Keyring.Open).
	if err := cfg.checkListen(); err != nil && a.Open() {
		return err
	}
	ln, err := listenTCP(cfg.Listen, "--listen HOST:PORT or LISTEN_ADDR")
	if err != nil {
		return err
	}
	metricsAt := "off"
	if cfg.AdminKey != "" {
		metricsAt = "/metrics with ADMIN_KEY"
	}
	if cfg.MetricsAddr != "" {
		mln, err := listenTCP(cfg.MetricsAddr, "METRICS_ADDR")
		if err != nil {
			ln.Close()
			return err
		}
		defer mln.Close()
		stop := serveMetrics(mln, a.Metrics.Handler(""))
		defer stop()
		metricsAt = "http://" + mln.Addr().String() + "/metrics"
	}
	log.Info("claudebridge serving", "addr", "http://"+ln.Addr().String(), "upstream", a.About,
		"auth", !a.Open(), "bedrock_access_keys", len(cfg.BedrockAccessKeys), "admin_api", cfg.AdminKey != "",
		"database", redact.URL(cfg.Chat.DatabasePath), "ledger", !cfg.LedgerOff, "metrics", metricsAt)
	a.Start()
	return serveUntilDone(ctx, newServer(a.Handler), ln, log, a.Shutdown)
}

// app is everything serve runs, built from the Config: the one handler of
// every door, and what must be started, drained and closed around it. The
// same app answers a Lambda function's invocations (lambda.go).
type app struct {
	// Handler serves every door: /v1/, /model/, /admin/, /metrics, the chat.
	Handler http.Handler
	// About says in words what the upstream is.
	About string
	// Metrics are the process's collectors (unserved without ADMIN_KEY or
	// METRICS_ADDR).
	Metrics *metrics.Metrics
	// Open reports whether the API doors take calls without a client key.
	Open func() bool
	// Chat is the chat, for the events of API Gateway's WebSocket API on
	// Lambda.
	Chat *chat.Server
	// Shutdown is what serve does once its context ends: the grace period,
	// what is in flight, and the drain of the chat and the batches.
	Shutdown shutdown

	start   func()
	closers []func() // run in reverse order by Close
}

// Start starts the background work: the Message Batches' scheduler.
func (a *app) Start() { a.start() }

// Close stops what the app started and closes what it opened, last opened
// first: the batches' scheduler (at once, if Shutdown's drain has not
// stopped it), the chat's turn bus, the ledger (what it holds is written
// before the database closes, within 30 s), the shared limits' lease, the
// database.
func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

func (a *app) onClose(f func()) { a.closers = append(a.closers, f) }

// newApp builds the app of cfg. inlineLedger writes each ledger row as its
// call ends, in the call, rather than from a queue: for a process that may
// be frozen once its answer is sent (a Lambda function). On an error
// what was opened is closed again.
func newApp(ctx context.Context, cfg *Config, log *slog.Logger, inlineLedger bool) (_ *app, err error) {
	a := &app{start: func() {}}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	// Metrics are collected only where they are served; their listeners
	// (the ledger) hear every call either way.
	m := metrics.Unserved()
	if cfg.AdminKey != "" || cfg.MetricsAddr != "" {
		m = metrics.New(cfg.Provider)
	}
	a.Metrics = m
	served, about, err := newGatewayUpstream(ctx, cfg, log, m)
	if err != nil {
		return nil, err
	}
	a.About = about
	// The calls of virtual keys report their usage to their limits.
	var up claudebridge.Upstream = limits.Upstream{Upstream: served.Upstream}
	db, err := openStore(ctx, cfg.Chat.DatabasePath)
	if err != nil {
		return nil, err
	}
	// What a dead process left streaming is marked interrupted by the
	// chat's lease sweep (TURN_LEASE), not here: other processes on the
	// database may be writing their answers.
	a.onClose(func() { db.Close() })
	if err := checkBudgetsHaveALedger(ctx, cfg, db); err != nil {
		return nil, err
	}
	// With SHARED_LIMITS, keys' limits and budgets are counted in the
	// database for every process on it, under this process's lease,
	// renewed until the server has drained and then ended.
	endLease, shared, err := shareLimits(ctx, cfg, db, log)
	if err != nil {
		return nil, err
	}
	if endLease != nil {
		a.onClose(endLease)
	}
	// Static keys and the store's virtual keys, the latter read again
	// within a second of a change (the CLI's, another server's).
	// A key's per-request cap prices as the ledger prices its calls.
	keySpending := &limits.Spending{Prices: cfg.Prices, Upstream: cfg.Provider, Budgets: keyBudgets(cfg, db, shared)}
	keyring, err := limits.NewSharedKeyring(ctx, claudebridge.NewClientKeys(cfg.APIKeys...), db, nil, keySpending, shared.lease)
	if err != nil {
		return nil, err
	}
	go keyring.Run(ctx, time.Second, log)
	a.Open = keyring.Open
	gw := &gateway.Gateway{
		Upstream:       up,
		Keyring:        keyring,
		CORS:           gateway.NewCORS(cfg.CORSOrigins...),
		PingInterval:   cfg.PingInterval,
		ReadTimeout:    cfg.ReadTimeout,
		RequestTimeout: cfg.RequestTimeout,
		Logger:         log,
		Metrics:        m,
		LogBodies:      cfg.LogBodies,
	}
	if served.Pool != nil {
		gw.Members = served.Pool.States
	}
	if cfg.Provider != "anthropic" {
		gw.MaxBodyBytes = bedrock.MaxBodyBytes // Bedrock's limit, under the Anthropic API's
	}
	front := &counted{Handler: bedrockfront.New(bedrockfront.Options{
		Upstream:       up,
		Keyring:        keyring,
		AccessKeys:     cfg.BedrockAccessKeys,
		RequestTimeout: cfg.RequestTimeout,
		Logger:         log,

		AllowUnsignedPayload: cfg.BedrockAllowUnsignedPayload,
		Metrics:              m,
		LogBodies:            cfg.LogBodies,
	})}
	// The ledger hears every call; on the way out what it holds is
	// written before the database closes.
	ledgerWriter, drainLedger := startLedger(cfg, db, m, log, inlineLedger)
	a.onClose(drainLedger)
	m.PriceWith(func(model string, u claudebridge.Usage) float64 {
		return cfg.Prices.Cost(model, cfg.Provider, u, false)
	})
	// The chat's turns are recorded at the upstream: they have no HTTP
	// answer of their own. Its users' budgets hold there too.
	var chatUp claudebridge.Upstream = &metrics.Upstream{Next: up, Metrics: m, Door: metrics.Chat}
	if cfg.ChatBudgetUSD > 0 {
		chatUp = &ledger.Budgeted{Next: chatUp, For: ledger.Users(&ledger.Budget{Limit: cfg.ChatBudgetUSD, Period: cfg.ChatBudgetPeriod,
			Prices: cfg.Prices, Upstream: cfg.Provider, Spent: ledger.SpentBy(db), Holds: shared.holds, Holder: shared.holder()})}
	}
	var chatBus claudebridge.TurnBus
	switch bus, err := openTurnBus(ctx, db); {
	case err != nil:
		return nil, err
	case bus != nil:
		a.onClose(func() { bus.Close() }) // after the chat's Close, before the database's
		chatBus = bus
	}
	chatServer, err := newChat(ctx, cfg, db, ledgerWriter, chatBus, chatUp, log)
	if err != nil {
		return nil, err
	}
	m.ChatTurns(chatServer.Answering)
	a.Chat = chatServer
	// Message Batches run in the background, through the same upstream,
	// from the same database, held to the limits and budget of the key
	// that made them (paced, not refused, by its rate limits); those a
	// shutdown cut resume here.
	scheduler := &batches.Scheduler{Store: db, Upstream: &limits.Paced{Next: up, Keys: keyring.Named}, Concurrency: cfg.BatchConcurrency,
		CallTimeout: cfg.RequestTimeout, Logger: log, Metrics: m, Keyed: func() bool { return !keyring.Open() }}
	gw.Batches = &batches.Handler{Store: db, Scheduler: scheduler, Logger: log}
	var adminMetrics http.Handler
	if cfg.AdminKey != "" {
		adminMetrics = m.Handler(cfg.AdminKey)
	}
	v1, model := openGuarded(cfg, keyring, gw, front)
	adminAPI := admin.New(db, cfg.AdminKey)
	a.Handler = frontDoors(model, v1, adminAPI, chatServer, adminMetrics)
	a.start = func() {
		scheduler.Start()
		a.onClose(func() { // at once if serving failed; after Drain's, a no-op
			cut, cancel := context.WithCancel(context.Background())
			cancel()
			scheduler.Stop(cut)
		})
	}
	a.Shutdown = shutdown{
		Grace: cfg.ShutdownGrace,
		InFlight: func() string {
			streams, others := gw.InFlight()
			return joinCounts(count(streams, "API stream", "API streams"), count(others, "other API call", "other API calls"),
				count(int(front.n.Load()), "Bedrock runtime call", "Bedrock runtime calls"),
				count(chatServer.Answering(), "chat answer", "chat answers"),
				count(scheduler.InFlight(), "batch call", "batch calls"))
		},
		// Chat answers get the grace period too; those still being
		// written then are stored as interrupted before the database
		// closes, and can be continued after a restart. Batches start no
		// more requests; the calls running get the grace period, and
		// those it cuts run again after a restart.
		Drain: func(grace context.Context) error {
			stopped := make(chan struct{})
			go func() { scheduler.Stop(grace); close(stopped) }()
			defer func() { <-stopped }()
			chatServer.Drain(grace)
			closing, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return chatServer.Close(closing)
		},
	}
	return a, nil
}

// newLogger is the process's logger: LOG_FORMAT's lines at LOG_LEVEL, to w.
func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serveMetrics serves /metrics alone on ln (METRICS_ADDR), until stop.
func serveMetrics(ln net.Listener, h http.Handler) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

// counted is a handler that counts the calls it is serving.
type counted struct {
	http.Handler
	n atomic.Int64
}

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	defer c.n.Add(-1)
	c.Handler.ServeHTTP(w, r)
}

// frontDoors serves the Bedrock runtime API (paths under /model/), the
// Anthropic API (/v1/ and the health checks), /metrics (not found when
// metrics is nil), the admin API (/admin/) and the chat (everything else:
// the page, /api/) on one listener. The prefix is matched by hand rather
// than by a ServeMux, which would redirect the unclean paths an escaped
// model id can make.
func frontDoors(bedrockRuntime, anthropicAPI, adminAPI, chat, metrics http.Handler) http.Handler {
	if metrics == nil {
		metrics = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/metrics":
			metrics.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/model/"):
			bedrockRuntime.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/v1/") || p == "/healthz" || p == "/readyz":
			anthropicAPI.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/admin/"):
			adminAPI.ServeHTTP(w, r)
		default:
			chat.ServeHTTP(w, r)
		}
	})
}

// openGuarded puts the open-mode guard in front of the doors that take no
// client credential: no browser page of another site, and no name other
// than a loopback one when listening on loopback (DNS rebinding).
//
// The guard stands while the keyring is Open: once a key is stored, the
// doors check keys instead, whoever calls.
func openGuarded(cfg *Config, keyring *limits.Keyring, gw, front http.Handler) (v1, model http.Handler) {
	v1, model = gw, front
	guard := openguard.New(loopback(cfg.Listen), cfg.CORSOrigins)
	check := func(r *http.Request) error {
		if keyring.Open() {
			return guard.Check(r)
		}
		return nil
	}
	if len(cfg.APIKeys) == 0 {
		v1 = gateway.Checked(gw, check)
		if len(cfg.BedrockAccessKeys) == 0 {
			model = bedrockfront.Checked(front, check)
		}
	}
	return v1, model
}

// newServer returns a server for HTTP/1.1 and HTTP/2 without TLS (h2c).
// The head of a request must arrive within 10 s and an idle connection is
// closed after 5 minutes. There is no ReadTimeout or WriteTimeout: both
// would cut a stream that lasts as long as the model writes (ReadTimeout
// through net/http's read that watches for the client leaving). The
// handlers bound what they read and write instead: a body must keep up a
// minimum rate (internal/httpbody.ReadRequest) and each write of an answer
// or stream event has a deadline of its own (gateway, eventstream).
func newServer(h http.Handler) *http.Server {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: h, Protocols: p, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
}

// upstreamTransport is the one pooled transport of every upstream call:
// Bedrock's runtime and control plane (through the AWS SDK), the Anthropic
// API, Secrets Manager. tlsConfig is the AWS chain's (a CA bundle), or nil.
//
// HTTP/2 is asked for over TLS even with a TLS config of our own
// (ForceAttemptHTTP2), so that hundreds of streams share a few
// connections; the idle pool is sized for as many HTTP/1.1 connections,
// for upstreams that speak only that (the emulators, plain-HTTP bases).
// HTTP/2 connections are pinged when silent, so that a dead one is found
// before the streams on it reach READ_TIMEOUT.
func upstreamTransport(cfg *Config, tlsConfig *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
	}
}

// loadAWS reads the AWS default chain, and its TLS settings (AWS_CA_BUNDLE,
// a profile's ca_bundle) for the upstream transport. The SDK's own HTTP
// client stays with what the chain itself calls (STS, SSO); every other
// SDK call goes through the transport (useTransport).
func loadAWS(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, *tls.Config, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, nil, err
	}
	var tlsConfig *tls.Config
	if b, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok && b.GetTransport() != nil {
		// A copy: the transport adds h2 to its protocols.
		tlsConfig = b.GetTransport().TLSClientConfig.Clone()
	}
	return awsCfg, tlsConfig, nil
}

// useTransport has the AWS SDK clients made from awsCfg send through tr.
func useTransport(awsCfg *aws.Config, tr http.RoundTripper) *http.Client {
	client := &http.Client{Transport: tr}
	awsCfg.HTTPClient = bedrock.SDKHTTPClient(client)
	return client
}

// newGatewayUpstream is the upstream that every door of serve calls, and
// `batch` too: the configured upstream (newUpstream, or the pool of
// UPSTREAMS) with the sampling rule (judged by the model behind a profile
// or ARN, which the upstream resolves) and MAX_COST_PER_REQUEST's cap,
// then the retries. m, when not nil,
// counts the retries, the failovers and the breakers' states. The pool is
// inside the retries: a failover to another member waits for nothing, and
// only when every member failed does the retry layer back off and walk the
// pool again.
func newGatewayUpstream(ctx context.Context, cfg *Config, log *slog.Logger, m *metrics.Metrics) (*servedUpstream, string, error) {
	var up claudebridge.Upstream
	var about string
	var err error
	var p *pool.Pool
	if len(cfg.Upstreams) > 0 {
		p, about, err = newPool(ctx, cfg, log, m)
		up = p
	} else {
		up, about, err = newUpstream(ctx, cfg, log)
	}
	if err != nil {
		return nil, "", err
	}
	var capped claudebridge.Upstream = &sampling.Upstream{Next: up, Policy: cfg.Sampling}
	if cfg.MaxCostPerRequest > 0 {
		capped = &cost.Cap{Next: capped, Prices: cfg.Prices, Upstream: cfg.Provider, Max: cfg.MaxCostPerRequest}
	}
	return &servedUpstream{Upstream: &retry.Upstream{Next: capped, MaxAttempts: cfg.RetryMaxAttempts, Logger: log, Retried: m.Retried},
		Pool: p}, about, nil
}

// servedUpstream is the upstream of every door, and the pool under it when
// UPSTREAMS names one.
type servedUpstream struct {
	claudebridge.Upstream
	Pool *pool.Pool // nil without UPSTREAMS
}

// newPool builds one upstream per member of UPSTREAMS, in order, and the
// pool over them.
func newPool(ctx context.Context, cfg *Config, log *slog.Logger, m *metrics.Metrics) (*pool.Pool, string, error) {
	var members []pool.Member
	var abouts []string
	for _, spec := range cfg.Upstreams {
		up, about, err := newMember(ctx, cfg, spec, log)
		if err != nil {
			return nil, "", fmt.Errorf("UPSTREAMS member %s: %v", spec.Name, err)
		}
		members = append(members, pool.Member{Name: spec.Name, Upstream: up})
		abouts = append(abouts, spec.Name+" ("+about+")")
	}
	p := pool.New(members, pool.Options{Failures: cfg.BreakerFailures, FailureRate: cfg.BreakerFailureRate,
		Cooldown: cfg.BreakerCooldown, Logger: log,
		FailedOver:   m.FailedOver,
		StateChanged: func(member string, s pool.State) { m.MemberState(member, s.String()) }})
	return p, "pool of " + strings.Join(abouts, ", "), nil
}

// newUpstream builds the upstream of AI_PROVIDER and says in words what it
// is.
func newUpstream(ctx context.Context, cfg *Config, log *slog.Logger) (claudebridge.Upstream, string, error) {
	return newMember(ctx, cfg, UpstreamMember{Kind: cfg.Provider}, log)
}

// newMember builds one upstream: Bedrock (in spec's region and profile
// when given, else the AWS chain's), the Anthropic API, or a built-in
// Bedrock emulator (in spec's region, else us-east-1).
func newMember(ctx context.Context, cfg *Config, spec UpstreamMember, log *slog.Logger) (claudebridge.Upstream, string, error) {
	switch spec.Kind {
	case "anthropic":
		key := anthropicapi.StaticKey(cfg.AnthropicAPIKey)
		about := "Anthropic API"
		tr := upstreamTransport(cfg, nil)
		if cfg.AnthropicSecretName != "" {
			awsCfg, tlsConfig, err := loadAWS(ctx)
			if err != nil {
				return nil, "", fmt.Errorf("AWS configuration for ANTHROPIC_SECRET_NAME: %v", err)
			}
			// A CA bundle replaces the system's roots (the SDK's way): it
			// is for AWS's endpoints, not the Anthropic API's, so only
			// then does Secrets Manager get a transport of its own.
			smTransport := tr
			if tlsConfig != nil {
				smTransport = upstreamTransport(cfg, tlsConfig)
			}
			useTransport(&awsCfg, smTransport)
			key = anthropicapi.SecretsManagerKey(secretsmanager.NewFromConfig(awsCfg), cfg.AnthropicSecretName)
			about += " (key from Secrets Manager)"
		}
		up := anthropicapi.New(anthropicapi.Options{BaseURL: cfg.AnthropicBaseURL, Key: key, Transport: tr, Logger: log})
		return up, about + " at " + redact.URL(or(cfg.AnthropicBaseURL, anthropicapi.DefaultBaseURL)), nil
	case "bedrock":
		var opts []func(*awsconfig.LoadOptions) error
		if spec.Region != "" {
			opts = append(opts, awsconfig.WithRegion(spec.Region))
		}
		if spec.Profile != "" {
			opts = append(opts, awsconfig.WithSharedConfigProfile(spec.Profile))
		}
		awsCfg, tlsConfig, err := loadAWS(ctx, opts...)
		if err != nil {
			return nil, "", fmt.Errorf("AWS configuration: %v", err)
		}
		client := useTransport(&awsCfg, upstreamTransport(cfg, tlsConfig))
		if awsCfg.Region == "" {
			awsCfg.Region = "us-east-1"
			log.Warn("no AWS region configured (AWS_REGION or a profile): using us-east-1")
		}
		return newBedrock(cfg, awsCfg, client, log), "AWS Bedrock in " + awsCfg.Region, nil
	}
	// The built-in emulator: a real Bedrock wire on a loopback port, reached
	// through the same Bedrock upstream and AWS SDK as the real service.
	const keyID, secret = "AKIDCLAUDEBRIDGEEMULATOR", "claudebridge-emulator-secret"
	region := or(spec.Region, "us-east-1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	h := bedrockemu.New(bedrockemu.Options{Region: region, Credentials: map[string]string{keyID: secret}, Logger: log})
	go emulator.Serve(ln, h)
	url := "http://" + ln.Addr().String()
	awsCfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		BaseEndpoint: aws.String(url),
	}
	about := "built-in Bedrock emulator at " + url
	if region != "us-east-1" {
		about += " in " + region
	}
	if cfg.ProviderInferred {
		about += " (no AWS or Anthropic credentials found)"
	}
	return newBedrock(cfg, awsCfg, &http.Client{Transport: upstreamTransport(cfg, nil)}, log), about, nil
}

func newBedrock(cfg *Config, awsCfg aws.Config, client *http.Client, log *slog.Logger) claudebridge.Upstream {
	return bedrock.New(bedrock.Options{AWS: awsCfg, HTTPClient: client, Models: cfg.BedrockModels,
		DropBetas: cfg.BedrockDropBetas, StrictFields: cfg.StrictFields, Logger: log,
		API: cfg.BedrockAPI, APIByModel: cfg.BedrockAPIOverrides,
		GuardrailID: cfg.BedrockGuardrailID, GuardrailVersion: cfg.BedrockGuardrailVersion})
}
