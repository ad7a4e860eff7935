package main

import (
	"fmt"
	"io"
	"strings"
)

// setting is one environment variable of `claudebridge serve`: a row of
// README's settings table and of `serve --help`, which are both made from
// settings so that they never disagree (TestReadmeSettingsTableIsTheGoTable).
// Default and Meaning are Markdown; --help shows them without backticks.
type setting struct {
	Name    string // the variable; several are comma-separated, "..." for more of the kind
	Default string
	Meaning string
}

// settings is every variable Config is read from, in README's order. A new
// setting is one entry here, one field of Config and its reading in
// loadConfig; TestEverySettingIsReadAndEveryReadOneListed holds the three
// together.
var settings = []setting{
	{Name: "AI_PROVIDER", Default: "inferred",
		Meaning: "`bedrock`, `anthropic` (alias `anthropic_api`) or `emulator`. Unset: `anthropic` when an Anthropic key is set, `bedrock` when AWS credentials are in sight (variables, profile, shared files, container or web-identity credentials; instance roles are not probed: set `AI_PROVIDER=bedrock`), else `emulator`"},
	{Name: "UPSTREAMS", Default: "none (the one upstream of `AI_PROVIDER`)",
		Meaning: "an ordered pool of upstreams, comma-separated, each `bedrock[:REGION][:profile=NAME]` (the AWS chain with that region, else `AWS_REGION`, else the profile's, and that shared config profile's credentials and `endpoint_url`), `anthropic` (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_SECRET_NAME`) or `emulator[:REGION]` (a built-in Bedrock emulator each), e.g. `bedrock:us-east-1,bedrock:us-west-2:profile=west,anthropic`; overrides `AI_PROVIDER`. A call a member throttles, overloads, times out, fails with a 5xx or cannot connect to (or refuses claudebridge's own credentials) goes to the next before anything reached the client; a request with `cache_control` goes first to the member rendezvous hashing of its cached prefix picks, others to the first healthy member. See [Failover](#failover)"},
	{Name: "UPSTREAM_BREAKER_FAILURES", Default: "`5`",
		Meaning: "failures in a row that take a member of `UPSTREAMS` out (its circuit breaker opens)"},
	{Name: "UPSTREAM_BREAKER_FAILURE_RATE", Default: "`0.5`",
		Meaning: "share of a member's last 20 calls that, failed, also takes it out (a member failing every other call never fails 5 in a row); `0`: only failures in a row count"},
	{Name: "UPSTREAM_BREAKER_COOLDOWN", Default: "`30s`",
		Meaning: "how long a member stays out before one call probes it; success brings it back, failure takes it out again"},
	{Name: "LISTEN_ADDR", Default: "`127.0.0.1:8080`",
		Meaning: "address of `serve` (`--listen` overrides)"},
	{Name: "API_KEYS", Default: "none",
		Meaning: "client keys, comma-separated, accepted as `x-api-key` or `Authorization: Bearer`; compared in constant time"},
	{Name: "BEARER_TOKEN", Default: "none",
		Meaning: "one more client key (the single token of the Lambda proxy claudebridge replaces)"},
	{Name: "ADMIN_KEY", Default: "none",
		Meaning: "bearer key of the admin API (`/admin/keys`: create, list and revoke virtual keys) and of `/metrics`, as `Authorization: Bearer`; unset, `/admin/` answers 404 as if it did not exist, and the main port has no `/metrics` (see `METRICS_ADDR`). Virtual keys (`claudebridge keys`) are stored in `DATABASE_URL`'s database and read by `serve` within a second; with any stored key (revoked ones included) the API doors require a key, as with `API_KEYS`"},
	{Name: "CORS_ALLOW_ORIGINS", Default: "none",
		Meaning: "origins allowed to call the API (`/v1/*`) from a browser, comma-separated, or `*`; preflights answered, `request-id` exposed. Not the chat's: see `CHAT_ALLOW_ORIGINS`"},
	{Name: "CHAT_ALLOW_ORIGINS", Default: "none (the page's own origin only)",
		Meaning: "other origins from which the chat's login may be posted and its WebSocket opened, comma-separated; `*` is refused at start-up"},
	{Name: "CHAT_SOCKET_URL", Default: "none (the page's socket is `/api/ws`)",
		Meaning: "the chat's WebSocket on API Gateway (`wss://ID.execute-api.REGION.amazonaws.com/STAGE`, the SAM stack's `ChatSocketURL`), for the function on AWS Lambda, whose Function URL carries no WebSocket: `/api/config` tells the page, which opens it with a one-minute ticket from `POST /api/socket-ticket`. See [The chat on API Gateway](#the-chat-on-api-gateway)"},
	{Name: "SAMPLING_CONFLICT", Default: "`drop_top_p`",
		Meaning: "for models that refuse `temperature` with `top_p` (Claude Opus 4.1 and every model since, as `models/table.go` says; a Bedrock profile or ARN is judged by the model behind it): `drop_top_p` keeps temperature, `reject` answers 400; applied to every door (`/v1/messages`, the Bedrock front door, the chat), not to count_tokens"},
	{Name: "RETRY_MAX_ATTEMPTS", Default: "`3`",
		Meaning: "attempts per upstream call, the first included; throttling, overload, 5xx, timeouts and resets are retried with exponential backoff and full jitter, honouring `retry-after`, and only before the first byte reaches the client"},
	{Name: "CONNECT_TIMEOUT", Default: "`10s`",
		Meaning: "dialing and TLS to an upstream"},
	{Name: "READ_TIMEOUT", Default: "`5m`",
		Meaning: "longest silence between two events of an upstream stream"},
	{Name: "REQUEST_TIMEOUT", Default: "`60m`",
		Meaning: "overall deadline of a call"},
	{Name: "PING_INTERVAL", Default: "`15s`",
		Meaning: "silence after which a stream gets a `ping` event, before the upstream's first byte too"},
	{Name: "SHUTDOWN_GRACE", Default: "`10s`",
		Meaning: "on Ctrl-C or SIGTERM, how long calls and chat answers in flight may take to finish (no new connection is taken meanwhile); then open streams end with an `overloaded_error` event, other calls get 529 `overloaded_error`, and chat answers are stored `interrupted`. A second signal exits at once"},
	{Name: "BATCH_CONCURRENCY", Default: "`8`",
		Meaning: "calls the Message Batches API of `serve` (`/v1/messages/batches`) makes at once, over all its batches"},
	{Name: "LOG_LEVEL", Default: "`info`",
		Meaning: "`debug`, `info`, `warn`, `error`; to stderr, one info line per request"},
	{Name: "LOG_FORMAT", Default: "`text`",
		Meaning: "`text` (slog's `key=value` lines) or `json` (one JSON object per line). No line holds a client key, a secret, a password or a prompt"},
	{Name: "LOG_BODIES", Default: "`false`",
		Meaning: "`true`: every request body of `/v1/messages`, count_tokens and the Bedrock front door is logged at `debug` level (with `LOG_LEVEL=debug`), prompts included: for debugging only"},
	{Name: "METRICS_ADDR", Default: "none",
		Meaning: "address of a listener of its own (e.g. `127.0.0.1:9090`) serving `GET /metrics` without authentication, in Prometheus's text format: calls by door (`messages`, `count_tokens`, `bedrock_invoke`, `bedrock_converse`, `bedrock_count_tokens`, `chat`, `batch`), model, upstream, client key, serving member and status; latency and time to first token; tokens by kind; cost in USD; upstream retries; streams and chat turns in flight"},
	{Name: "LEDGER", Default: "`on`",
		Meaning: "`off`: no ledger rows are written, by any door, the chat or `claudebridge batch` (`claudebridge usage` and the chat's usage page show only older rows). A budget is held to what the ledger says was spent, so with `off` a `CHAT_BUDGET_USD`, or a live virtual key with a budget, is refused at start-up, and the calls of a key given a budget later are refused (403 `permission_error`)"},
	{Name: "PRICES_FILE", Default: "none (the built-in prices)",
		Meaning: "a JSON file of prices per model (USD per million tokens: input, output, cache writes of 5 minutes and 1 hour, cache reads, batch discount, and Bedrock's where they differ) over the built-in ones, with a `version` recorded on every ledger row; its shape is in `cost/cost.go`"},
	{Name: "MAX_COST_PER_REQUEST", Default: "none", Meaning: "US dollars: a call whose worst case (its input counted locally, at the dearest prompt rate, plus `max_tokens` of output) is over it is refused before anything is sent, with 400 `invalid_request_error` naming both figures; on `/v1/messages` and the Bedrock front door's invoke operations"},
	{Name: "CHAT_BUDGET_USD", Default: "none", Meaning: "US dollars each chat user may spend per `CHAT_BUDGET_PERIOD`, from the ledger; a turn that could pass it (its worst case reserved while it runs) is refused with 400 `invalid_request_error` (the Anthropic API's answer to a credit balance too low)"},
	{Name: "CHAT_BUDGET_PERIOD", Default: "`month`", Meaning: "`day` or `month` (UTC): the period of `CHAT_BUDGET_USD`"},
	{Name: "SHARED_LIMITS", Default: "`true` with a PostgreSQL or DynamoDB `DATABASE_URL`, else `false`",
		Meaning: "`true`: the virtual keys' limits (`--rpm`, `--tpm`, `--concurrency`) and the budgets (`--budget-usd`, `CHAT_BUDGET_USD`) are counted in `DATABASE_URL`'s database, so that several `serve` processes on it (behind a load balancer) hold them together, exactly: each call one atomic step of the database, a call in flight and its worst case held under its process's lease, which a crashed process's lapses within 15 s. `false`: each process counts in its own memory (no database on the hot path; N processes let a key through N times its limits)"},
	{Name: "AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_BEARER_TOKEN_BEDROCK, ...", Default: "AWS chain",
		Meaning: "Bedrock credentials and region, by the AWS SDK's default chain (env, shared config and profiles, SSO, container and instance roles)"},
	{Name: "AWS_ENDPOINT_URL_BEDROCK_RUNTIME, AWS_ENDPOINT_URL_BEDROCK, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL", Default: "AWS",
		Meaning: "endpoint overrides, the AWS SDK's convention"},
	{Name: "BEDROCK_MODEL_MAP", Default: "none",
		Meaning: "more model ids, `anthropic-id=bedrock-id-or-profile-or-arn,...`; the built-in table covers every model the Anthropic SDKs name and is completed from the account's own model and profile lists in the background"},
	{Name: "BEDROCK_DROP_BETAS", Default: "none",
		Meaning: "`anthropic-beta` flags never sent to Bedrock (those it refuses are also learned per model at run time)"},
	{Name: "STRICT_FIELDS", Default: "`false`",
		Meaning: "`true`: a body field or `anthropic-beta` flag the Bedrock model refuses is answered with Bedrock's 400, as the Anthropic API answers a typo. `false`: it is dropped, remembered for the model and the call sent again. Either way, every answer whose request lost fields or betas (learned, `BEDROCK_DROP_BETAS`, the model table's rules, `top_p` by `SAMPLING_CONFLICT`) names them in a `claudebridge-dropped` header (`fields=tools.0.strict; betas=...`) and in the log line"},
	{Name: "BEDROCK_API", Default: "`invoke`",
		Meaning: "how Claude models are called: `invoke` (InvokeModel with the Messages body, streamed through unchanged) or `converse` (Converse / ConverseStream, translated). Models of other providers (Amazon Nova, Meta Llama, Mistral, ...; their Bedrock ids or profiles as the model id) always go through Converse"},
	{Name: "BEDROCK_API_OVERRIDES", Default: "none",
		Meaning: "`BEDROCK_API` per model, `model=invoke|converse,...`; the model is the client's id or the Bedrock base id"},
	{Name: "BEDROCK_GUARDRAIL_ID", Default: "none",
		Meaning: "Bedrock guardrail (id or ARN) applied to every call: `guardrailConfig` on Converse, the `X-Amzn-Bedrock-GuardrailIdentifier` header on InvokeModel"},
	{Name: "BEDROCK_GUARDRAIL_VERSION", Default: "`DRAFT`",
		Meaning: "the guardrail's version (needs `BEDROCK_GUARDRAIL_ID`)"},
	{Name: "BEDROCK_ALLOW_UNSIGNED_PAYLOAD", Default: "`false`",
		Meaning: "accept SigV4 requests to the Bedrock front door signed with `x-amz-content-sha256: UNSIGNED-PAYLOAD` (the body then is not covered by the signature). The AWS SDKs (Go v2, JavaScript v3, boto3) sign the body's SHA-256 and need no such thing"},
	{Name: "BEDROCK_ACCESS_KEYS", Default: "none",
		Meaning: "access key pairs of the Bedrock front door, `ACCESS_KEY_ID:SECRET_ACCESS_KEY,...`: SigV4 signatures (service `bedrock`, any region) are verified against them. `API_KEYS` and `BEARER_TOKEN` are taken there too, as Bedrock API keys (`Authorization: Bearer`); virtual keys too (`claudebridge keys`); with none of them the front door is open"},
	{Name: "ANTHROPIC_BASE_URL", Default: "`https://api.anthropic.com`",
		Meaning: "the Anthropic API (`AI_PROVIDER=anthropic`)"},
	{Name: "ANTHROPIC_API_KEY", Default: "none",
		Meaning: "its key"},
	{Name: "ANTHROPIC_SECRET_NAME", Default: "none",
		Meaning: "take the key from this AWS Secrets Manager secret instead (JSON `{\"api_key\": \"...\"}`), cached, fetched again after a 401"},
	{Name: "DATABASE_URL", Default: "`claudebridge.db` in `$XDG_DATA_HOME/claudebridge/` or `~/.local/share/claudebridge/`",
		Meaning: "the store of users, conversations, keys, the ledger and batches: a SQLite file (a path or `sqlite:///abs/path`), or PostgreSQL (`postgres://user@host:5432/db?sslmode=require`, libpq's URL; the `PG*` variables such as `PGPASSWORD` fill what it leaves out) for several serve processes on one database. In a PostgreSQL URL, `pool_max_conns` sizes the pool (default 4 per CPU, at least 8) and `statement_timeout` bounds each statement (default `30s`). Or DynamoDB (`dynamodb://TABLE_PREFIX`, as on AWS Lambda: tables `PREFIX-users`, `PREFIX-messages`, ... as `template.yaml` makes them; region, credentials and `AWS_ENDPOINT_URL_DYNAMODB` from the AWS default chain; `?create=true` makes the missing tables, for DynamoDB Local)"},
	{Name: "ANTHROPIC_MODEL_ID", Default: "the first model the upstream lists",
		Meaning: "model of new chat conversations"},
	{Name: "MAX_TOKENS", Default: "`4096`",
		Meaning: "`max_tokens` of chat turns"},
	{Name: "TEMPERATURE", Default: "`0.3`",
		Meaning: "`temperature` of chat turns (0 to 1)"},
	{Name: "TOP_K", Default: "`40`",
		Meaning: "`top_k` of chat turns"},
	{Name: "CHAT_TURNS_PER_USER", Default: "`4`",
		Meaning: "answers one chat user may have being written at once, across conversations, by each `serve` process (several on one PostgreSQL count apart; one conversation has one answer written at a time whatever the process); past it a send gets `rate_limit_error`"},
	{Name: "TURN_LEASE", Default: "`10s`",
		Meaning: "how long a chat answer outlives its process: each `serve` renews a lease on the answers it writes every third of it in `DATABASE_URL`'s database, and marks interrupted (to be continued from any process) the answers of a process whose lease lapsed, such as one killed mid-answer; a serve that cannot renew its lease stops its answers (stored `interrupted`) before it lapses. Pages follow, stop and resume an answer through any serve (on PostgreSQL, over LISTEN/NOTIFY). 1s or more"},
	{Name: "TRUSTED_USER_HEADER", Default: "none",
		Meaning: "header (e.g. `X-Forwarded-User`) in which an authenticating proxy in front names the chat user; users are created on first sight. Believed only from `TRUSTED_PROXIES`, never for a user with a password (who logs in). Only set it when that proxy strips the header from clients"},
	{Name: "TRUSTED_PROXIES", Default: "loopback (`127.0.0.0/8`, `::1`)",
		Meaning: "IPs or CIDRs, comma-separated, of the proxies whose `TRUSTED_USER_HEADER` is believed and whose `X-Forwarded-For` names a login's client (for its throttle). `serve` refuses `TRUSTED_USER_HEADER` on a non-loopback address unless this is set"},
}

// names returns the variables of a row.
func (s setting) names() []string {
	var out []string
	for _, n := range strings.Split(s.Name, ",") {
		if n = strings.TrimSpace(n); n != "" && n != "..." {
			out = append(out, n)
		}
	}
	return out
}

// settingsMarkdown is README's settings table.
func settingsMarkdown() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, s := range settings {
		var names []string
		for _, n := range strings.Split(s.Name, ",") {
			if n = strings.TrimSpace(n); n != "..." {
				n = "`" + n + "`"
			}
			names = append(names, n)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", strings.Join(names, ", "), cell(s.Default), cell(s.Meaning))
	}
	return b.String()
}

// printSettings writes the settings for a terminal: each name with its
// default, then its meaning wrapped and indented.
func printSettings(w io.Writer) {
	plain := strings.NewReplacer("`", "").Replace
	for _, s := range settings {
		fmt.Fprintf(w, "  %s (default: %s)\n", plain(s.Name), plain(s.Default))
		for _, line := range wrap(plain(s.Meaning), 72) {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
}

// wrap breaks text into lines of at most width bytes, at spaces; a word
// longer than width gets a line of its own.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
