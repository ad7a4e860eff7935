# make test: everything CI runs. Needs Go and Node.js with npm; installs the
# Node clients (Anthropic SDK, AWS SDK, Claude Code) from npm into e2e/node,
# and playwright-core into e2e/browser (the browser tests drive Debian's chromium).
GO ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test check node-deps chromium run bench

test: check node-deps chromium
	CLAUDEBRIDGE_NODE_TESTS=required $(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./gateway ./retry ./h1 ./anthropicapi ./bedrock ./bedrockfront ./chat

check:
	@test -z "$$(gofmt -l . | grep -v '^e2e/node/')" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Debian's chromium for the browser tests, when it is not there yet.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

node-deps:
	cd e2e/node && npm ci --no-audit --no-fund
	cd e2e/browser && npm ci --no-audit --no-fund

run:
	$(GO) run ./cmd/claudebridge serve

bench:
	$(GO) run ./cmd/loadtest
