package main

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/claudebridge/claudebridge/batch"
	"github.com/claudebridge/claudebridge/cost"
	"github.com/claudebridge/claudebridge/sampling"
)

// Config is every setting of `claudebridge serve`, read once at start-up
// from the environment (and the command's flags). The settings table
// (settings.go) documents each; README's table and `serve --help` are made
// from it.
type Config struct {
	Listen   string // LISTEN_ADDR, --listen
	Insecure bool   // --insecure: allow an open gateway on a non-loopback address

	// Provider is "bedrock", "anthropic" or "emulator" (AI_PROVIDER). When
	// unset it is inferred: anthropic with an Anthropic key, bedrock with
	// AWS credentials in sight, else the built-in emulator.
	Provider         string
	ProviderInferred bool
	// Upstreams is the ordered pool of UPSTREAMS; Provider is then "pool".
	// Empty: the single upstream of Provider.
	Upstreams []UpstreamMember
	// BreakerFailures (UPSTREAM_BREAKER_FAILURES) and BreakerCooldown
	// (UPSTREAM_BREAKER_COOLDOWN) tune each pool member's circuit breaker.
	BreakerFailures int
	BreakerCooldown time.Duration
	// BreakerFailureRate (UPSTREAM_BREAKER_FAILURE_RATE) opens a member's
	// breaker when that share of its last 20 calls failed; 0: never.
	BreakerFailureRate float64

	APIKeys     []string // API_KEYS and BEARER_TOKEN
	AdminKey    string   // ADMIN_KEY: bearer key of /admin/ (and /metrics)
	CORSOrigins []string // CORS_ALLOW_ORIGINS: browser origins of the API
	// ChatOrigins are the origins, besides the page's own, from which the
	// chat's WebSocket may be opened and its login posted
	// (CHAT_ALLOW_ORIGINS; "*" is refused: it would open them to any site).
	ChatOrigins []string
	// ChatSocketURL (CHAT_SOCKET_URL) is the chat's WebSocket on API
	// Gateway (wss://...), which the page opens with a ticket instead of
	// /api/ws; "" for /api/ws.
	ChatSocketURL string
	// TrustedProxies are the addresses TRUSTED_USER_HEADER is taken from
	// (TRUSTED_PROXIES: IPs or CIDRs; default loopback). TrustedProxiesSet
	// says whether the variable was given.
	TrustedProxies    []netip.Prefix
	TrustedProxiesSet bool
	Sampling          sampling.Policy

	RetryMaxAttempts int           // RETRY_MAX_ATTEMPTS
	BatchConcurrency int           // BATCH_CONCURRENCY: calls of the Message Batches API at once
	ConnectTimeout   time.Duration // CONNECT_TIMEOUT
	ReadTimeout      time.Duration // READ_TIMEOUT: idle time between stream events
	RequestTimeout   time.Duration // REQUEST_TIMEOUT: the whole call
	PingInterval     time.Duration // PING_INTERVAL
	ShutdownGrace    time.Duration // SHUTDOWN_GRACE: what calls in flight get to finish at shutdown
	LogLevel         slog.Level    // LOG_LEVEL
	LogJSON          bool          // LOG_FORMAT=json: JSON lines, else slog's text
	LogBodies        bool          // LOG_BODIES: request bodies at debug level

	// MetricsAddr (METRICS_ADDR) is a listener of its own for /metrics,
	// without authentication; on the main listener /metrics asks for
	// AdminKey. With neither, /metrics is not served.
	MetricsAddr string

	// LedgerOff (LEDGER=off) writes no ledger rows. Budgets need the
	// ledger: CHAT_BUDGET_USD is then refused here, keys with a budget
	// by serve.
	LedgerOff bool

	// Prices is the price table of the ledger and the cost cap: the
	// built-in one, or PRICES_FILE's over it.
	Prices *cost.Table
	// MaxCostPerRequest (MAX_COST_PER_REQUEST, US dollars) refuses a
	// request whose worst case is over it; 0: no cap.
	MaxCostPerRequest float64
	// ChatBudgetUSD (CHAT_BUDGET_USD) is what each chat user may spend
	// per ChatBudgetPeriod (CHAT_BUDGET_PERIOD: day or month, UTC); 0: no
	// budget.
	ChatBudgetUSD    float64
	ChatBudgetPeriod string
	// SharedLimits (SHARED_LIMITS) counts keys' limits and holds budgets
	// in the database, for several serve processes on it; false: in this
	// process's memory. Unset (SharedLimitsSet false): true on PostgreSQL.
	SharedLimits    bool
	SharedLimitsSet bool

	AnthropicBaseURL    string // ANTHROPIC_BASE_URL
	AnthropicAPIKey     string // ANTHROPIC_API_KEY
	AnthropicSecretName string // ANTHROPIC_SECRET_NAME

	BedrockModels    map[string]string // BEDROCK_MODEL_MAP: id=bedrock-id,...
	BedrockDropBetas []string          // BEDROCK_DROP_BETAS
	// StrictFields (STRICT_FIELDS): a field or beta flag the model refuses
	// is the upstream's 400, not dropped and retried.
	StrictFields bool

	BedrockAPI              string            // BEDROCK_API: invoke or converse, for Anthropic models
	BedrockAPIOverrides     map[string]string // BEDROCK_API_OVERRIDES: model=invoke|converse,...
	BedrockGuardrailID      string            // BEDROCK_GUARDRAIL_ID
	BedrockGuardrailVersion string            // BEDROCK_GUARDRAIL_VERSION

	// BedrockAccessKeys are the access key pairs whose SigV4 signatures the
	// Bedrock front door accepts (BEDROCK_ACCESS_KEYS: AKID:SECRET,...).
	BedrockAccessKeys map[string]string
	// BedrockAllowUnsignedPayload accepts SigV4 requests signed with
	// UNSIGNED-PAYLOAD (BEDROCK_ALLOW_UNSIGNED_PAYLOAD).
	BedrockAllowUnsignedPayload bool

	Chat ChatConfig // the chat's settings (chat.go)
}

// UpstreamMember is one member of UPSTREAMS:
// KIND[:REGION][:profile=NAME], KIND one of bedrock, anthropic, emulator.
type UpstreamMember struct {
	Name    string // as written: the member's name in logs, /readyz and the metrics
	Kind    string // bedrock, anthropic or emulator
	Region  string // bedrock, emulator: the AWS region; "" for the AWS chain's
	Profile string // bedrock: the AWS shared config profile; "" for the chain's
}

// parseUpstreams reads UPSTREAMS.
func parseUpstreams(s string) ([]UpstreamMember, error) {
	var out []UpstreamMember
	seen := map[string]bool{}
	for _, item := range list(s) {
		kind, rest, _ := strings.Cut(item, ":")
		m := UpstreamMember{Name: item, Kind: strings.ToLower(kind)}
		if m.Kind == "anthropic_api" {
			m.Kind = "anthropic"
		}
		switch m.Kind {
		case "bedrock", "emulator":
		case "anthropic":
			if rest != "" {
				return nil, fmt.Errorf("UPSTREAMS: %q: anthropic takes no options (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_SECRET_NAME set it up)", item)
			}
		default:
			return nil, fmt.Errorf("UPSTREAMS: %q: want bedrock[:REGION][:profile=NAME], anthropic or emulator[:REGION]", item)
		}
		for _, opt := range strings.Split(rest, ":") {
			key, value, isOpt := strings.Cut(opt, "=")
			switch {
			case opt == "" && rest == "":
			case isOpt && key == "profile" && value != "" && m.Kind == "bedrock" && m.Profile == "":
				m.Profile = value
			case !isOpt && opt != "" && m.Region == "":
				m.Region = opt
			default:
				return nil, fmt.Errorf("UPSTREAMS: %q: want bedrock[:REGION][:profile=NAME], anthropic or emulator[:REGION]", item)
			}
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("UPSTREAMS: %q is named twice", item)
		}
		seen[m.Name] = true
		out = append(out, m)
	}
	return out, nil
}

// loadConfig reads the environment through getenv.
func loadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{
		Listen:                  or(getenv("LISTEN_ADDR"), "127.0.0.1:8080"),
		Provider:                strings.ToLower(strings.TrimSpace(getenv("AI_PROVIDER"))),
		APIKeys:                 append(list(getenv("API_KEYS")), list(getenv("BEARER_TOKEN"))...),
		AdminKey:                strings.TrimSpace(getenv("ADMIN_KEY")),
		CORSOrigins:             list(getenv("CORS_ALLOW_ORIGINS")),
		ChatOrigins:             list(getenv("CHAT_ALLOW_ORIGINS")),
		ChatSocketURL:           strings.TrimSpace(getenv("CHAT_SOCKET_URL")),
		AnthropicBaseURL:        getenv("ANTHROPIC_BASE_URL"),
		AnthropicAPIKey:         getenv("ANTHROPIC_API_KEY"),
		AnthropicSecretName:     getenv("ANTHROPIC_SECRET_NAME"),
		BedrockDropBetas:        list(getenv("BEDROCK_DROP_BETAS")),
		BedrockModels:           map[string]string{},
		BedrockAPIOverrides:     map[string]string{},
		BedrockGuardrailID:      strings.TrimSpace(getenv("BEDROCK_GUARDRAIL_ID")),
		BedrockGuardrailVersion: strings.TrimSpace(getenv("BEDROCK_GUARDRAIL_VERSION")),
		MetricsAddr:             strings.TrimSpace(getenv("METRICS_ADDR")),
	}
	switch c.Provider {
	case "":
		c.ProviderInferred = true
		switch {
		case c.AnthropicAPIKey != "" || c.AnthropicSecretName != "":
			c.Provider = "anthropic"
		case awsInSight(getenv):
			c.Provider = "bedrock"
		default:
			c.Provider = "emulator"
		}
	case "anthropic", "anthropic_api":
		c.Provider = "anthropic"
	case "bedrock", "emulator":
	default:
		return nil, fmt.Errorf("AI_PROVIDER=%q: want bedrock, anthropic (or anthropic_api) or emulator", c.Provider)
	}
	if c.Provider == "anthropic" && c.AnthropicAPIKey == "" && c.AnthropicSecretName == "" {
		return nil, fmt.Errorf("AI_PROVIDER=anthropic needs ANTHROPIC_API_KEY or ANTHROPIC_SECRET_NAME")
	}
	var err error
	if c.Upstreams, err = parseUpstreams(getenv("UPSTREAMS")); err != nil {
		return nil, err
	}
	for _, m := range c.Upstreams {
		if m.Kind == "anthropic" && c.AnthropicAPIKey == "" && c.AnthropicSecretName == "" {
			return nil, fmt.Errorf("UPSTREAMS: anthropic needs ANTHROPIC_API_KEY or ANTHROPIC_SECRET_NAME")
		}
	}
	if len(c.Upstreams) > 0 {
		c.Provider, c.ProviderInferred = "pool", false
	}
	if c.BreakerFailures, err = intVar(getenv, "UPSTREAM_BREAKER_FAILURES", 5); err != nil {
		return nil, err
	}
	if c.BreakerCooldown, err = durationVar(getenv, "UPSTREAM_BREAKER_COOLDOWN", 30*time.Second); err != nil {
		return nil, err
	}
	c.BreakerFailureRate = 0.5
	if v := strings.TrimSpace(getenv("UPSTREAM_BREAKER_FAILURE_RATE")); v != "" {
		if c.BreakerFailureRate, err = strconv.ParseFloat(v, 64); err != nil || c.BreakerFailureRate < 0 || c.BreakerFailureRate > 1 {
			return nil, fmt.Errorf("UPSTREAM_BREAKER_FAILURE_RATE=%q: want a share from 0 to 1, 0 for none", v)
		}
	}
	switch p := getenv("SAMPLING_CONFLICT"); p {
	case "", "drop_top_p":
		c.Sampling = sampling.DropTopP
	case "reject":
		c.Sampling = sampling.Reject
	default:
		return nil, fmt.Errorf("SAMPLING_CONFLICT=%q: want drop_top_p or reject", p)
	}
	for _, pair := range list(getenv("BEDROCK_MODEL_MAP")) {
		id, target, ok := strings.Cut(pair, "=")
		if !ok || id == "" || target == "" {
			return nil, fmt.Errorf("BEDROCK_MODEL_MAP: %q is not id=bedrock-model-id", pair)
		}
		c.BedrockModels[strings.TrimSpace(id)] = strings.TrimSpace(target)
	}
	switch api := strings.ToLower(strings.TrimSpace(getenv("BEDROCK_API"))); api {
	case "", "invoke":
		c.BedrockAPI = "invoke"
	case "converse":
		c.BedrockAPI = api
	default:
		return nil, fmt.Errorf("BEDROCK_API=%q: want invoke or converse", api)
	}
	for _, pair := range list(getenv("BEDROCK_API_OVERRIDES")) {
		id, api, ok := strings.Cut(pair, "=")
		api = strings.ToLower(strings.TrimSpace(api))
		if !ok || strings.TrimSpace(id) == "" || (api != "invoke" && api != "converse") {
			return nil, fmt.Errorf("BEDROCK_API_OVERRIDES: %q is not model=invoke or model=converse", pair)
		}
		c.BedrockAPIOverrides[strings.TrimSpace(id)] = api
	}
	if c.BedrockGuardrailVersion != "" && c.BedrockGuardrailID == "" {
		return nil, fmt.Errorf("BEDROCK_GUARDRAIL_VERSION is set without BEDROCK_GUARDRAIL_ID")
	}
	c.BedrockAccessKeys = map[string]string{}
	for _, pair := range list(getenv("BEDROCK_ACCESS_KEYS")) {
		id, secret, ok := strings.Cut(pair, ":")
		id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
		if !ok || id == "" || secret == "" {
			// The entry is not shown: it may hold a secret.
			return nil, fmt.Errorf("BEDROCK_ACCESS_KEYS: an entry is not ACCESS_KEY_ID:SECRET_ACCESS_KEY")
		}
		c.BedrockAccessKeys[id] = secret
	}
	if c.StrictFields, err = boolVar(getenv, "STRICT_FIELDS"); err != nil {
		return nil, err
	}
	if c.BedrockAllowUnsignedPayload, err = boolVar(getenv, "BEDROCK_ALLOW_UNSIGNED_PAYLOAD"); err != nil {
		return nil, err
	}
	for _, o := range c.ChatOrigins {
		if o == "*" {
			return nil, fmt.Errorf("CHAT_ALLOW_ORIGINS=*: the chat's login and WebSocket are not opened to every site; list the origins")
		}
	}
	if u := c.ChatSocketURL; u != "" && !strings.HasPrefix(u, "wss://") && !strings.HasPrefix(u, "ws://") {
		return nil, fmt.Errorf("CHAT_SOCKET_URL=%q: want a WebSocket URL (wss://HOST/STAGE)", u)
	}
	if c.TrustedProxies, c.TrustedProxiesSet, err = prefixes(getenv, "TRUSTED_PROXIES"); err != nil {
		return nil, err
	}
	if c.RetryMaxAttempts, err = intVar(getenv, "RETRY_MAX_ATTEMPTS", 3); err != nil {
		return nil, err
	}
	if c.BatchConcurrency, err = intVar(getenv, "BATCH_CONCURRENCY", batch.DefaultConcurrency); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"CONNECT_TIMEOUT", &c.ConnectTimeout, 10 * time.Second},
		{"READ_TIMEOUT", &c.ReadTimeout, 5 * time.Minute},
		{"REQUEST_TIMEOUT", &c.RequestTimeout, 60 * time.Minute},
		{"PING_INTERVAL", &c.PingInterval, 15 * time.Second},
		{"SHUTDOWN_GRACE", &c.ShutdownGrace, 10 * time.Second},
	} {
		if *d.dst, err = durationVar(getenv, d.name, d.def); err != nil {
			return nil, err
		}
	}
	if c.Chat, err = loadChatConfig(getenv); err != nil {
		return nil, err
	}
	switch f := strings.ToLower(strings.TrimSpace(getenv("LOG_FORMAT"))); f {
	case "", "text":
	case "json":
		c.LogJSON = true
	default:
		return nil, fmt.Errorf("LOG_FORMAT=%q: want text or json", f)
	}
	if c.LogBodies, err = boolVar(getenv, "LOG_BODIES"); err != nil {
		return nil, err
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("LEDGER"))); v {
	case "", "on":
	case "off":
		c.LedgerOff = true
	default:
		return nil, fmt.Errorf("LEDGER=%q: want on or off", v)
	}
	c.Prices = cost.Builtin()
	if path := strings.TrimSpace(getenv("PRICES_FILE")); path != "" {
		if c.Prices, err = cost.Load(path); err != nil {
			return nil, err
		}
	}
	if c.MaxCostPerRequest, err = dollarsVar(getenv, "MAX_COST_PER_REQUEST"); err != nil {
		return nil, err
	}
	if c.ChatBudgetUSD, err = dollarsVar(getenv, "CHAT_BUDGET_USD"); err != nil {
		return nil, err
	}
	if c.ChatBudgetUSD > 0 && c.LedgerOff {
		return nil, fmt.Errorf("CHAT_BUDGET_USD is set with LEDGER=off: a budget is held to what the ledger says was spent, and without a ledger it cannot hold; unset one of them")
	}
	switch c.ChatBudgetPeriod = strings.ToLower(strings.TrimSpace(getenv("CHAT_BUDGET_PERIOD"))); c.ChatBudgetPeriod {
	case "":
		c.ChatBudgetPeriod = "month"
	case "day", "month":
	default:
		return nil, fmt.Errorf("CHAT_BUDGET_PERIOD=%q: want day or month", c.ChatBudgetPeriod)
	}
	if c.SharedLimits, err = boolVar(getenv, "SHARED_LIMITS"); err != nil {
		return nil, err
	}
	c.SharedLimitsSet = strings.TrimSpace(getenv("SHARED_LIMITS")) != ""
	if !c.SharedLimitsSet {
		// A PostgreSQL database is there to be shared by several servers.
		c.SharedLimits = isPostgres(c.Chat.DatabasePath) || isDynamo(c.Chat.DatabasePath)
	}
	if s := getenv("LOG_LEVEL"); s != "" {
		if err := c.LogLevel.UnmarshalText([]byte(s)); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", s)
		}
	}
	return c, nil
}

// checkListen refuses an open gateway on an address other hosts can reach.
func (c *Config) checkListen() error {
	if len(c.APIKeys) > 0 || c.Insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("listen address %q: %v", c.Listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("no API_KEYS or BEARER_TOKEN set: refusing to serve an open gateway on %s; listen on a loopback address, set a key, or pass --insecure", c.Listen)
}

// checkTrustedHeader refuses TRUSTED_USER_HEADER on an address other hosts
// can reach unless TRUSTED_PROXIES says which of them may set it: anyone
// else could name any user.
func (c *Config) checkTrustedHeader() error {
	if c.Chat.TrustedUserHeader == "" || c.TrustedProxiesSet || loopback(c.Listen) {
		return nil
	}
	return fmt.Errorf("TRUSTED_USER_HEADER is set on %s without TRUSTED_PROXIES: any client could name any user; set TRUSTED_PROXIES to the proxy's addresses", c.Listen)
}

// awsInSight reports whether the AWS default chain has something to find
// without asking the network: variables, profiles or shared files. Instance
// roles are not probed (that would delay start-up); set AI_PROVIDER=bedrock.
func awsInSight(getenv func(string) string) bool {
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"} {
		if getenv(v) != "" {
			return true
		}
	}
	files := []string{getenv("AWS_SHARED_CREDENTIALS_FILE"), getenv("AWS_CONFIG_FILE")}
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".aws", "credentials"), filepath.Join(home, ".aws", "config"))
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

func list(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// prefixes reads a list of IPs and CIDRs; an IP is a prefix of its full
// length. Unset: the loopback addresses.
func prefixes(getenv func(string) string, name string) ([]netip.Prefix, bool, error) {
	items := list(getenv(name))
	if len(items) == 0 {
		return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, false, nil
	}
	var out []netip.Prefix
	for _, item := range items {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			ip, ipErr := netip.ParseAddr(item)
			if ipErr != nil {
				return nil, true, fmt.Errorf("%s: %q is not an IP address or CIDR", name, item)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, true, nil
}

// boolVar reads true or false (also 1/0, yes/no); unset is false.
func boolVar(getenv func(string) string, name string) (bool, error) {
	switch s := strings.ToLower(strings.TrimSpace(getenv(name))); s {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want true or false", name, s)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func intVar(getenv func(string) string, name string, def int) (int, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a whole number ≥ 1", name, s)
	}
	return n, nil
}

// dollarsVar reads an amount in US dollars ("0.50"); unset is 0.
func dollarsVar(getenv func(string) string, name string) (float64, error) {
	s := strings.TrimPrefix(strings.TrimSpace(getenv(name)), "$")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("%s=%q: want an amount of US dollars such as 0.50", name, s)
	}
	return n, nil
}

// durationVar reads a Go duration ("30s", "5m") or a number of seconds.
func durationVar(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 30s or 5m, or seconds", name, s)
	}
	return d, nil
}
