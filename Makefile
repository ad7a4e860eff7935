# make test: everything CI runs. Needs Go and Node.js with npm; installs the
# Node clients (Anthropic SDK, AWS SDK, Claude Code) from npm into e2e/node,
# and playwright-core into e2e/browser (the browser tests drive Debian's chromium),
# and Debian's chromium and postgresql packages when they are missing.
GO ?= go
# Go 1.26.8 has a remotely triggerable HTTP/2 server crash over h2c, fixed in
# 1.26.9; go.mod's go line asks for the same release.
export GOTOOLCHAIN := go1.26.11
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test build check cross node-deps chromium postgresql run bench

test: check cross node-deps chromium postgresql
	CLAUDEBRIDGE_NODE_TESTS=required CLAUDEBRIDGE_PG_TESTS=required $(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./gateway ./retry ./sampling ./internal/httpbody ./anthropicapi ./bedrock ./bedrockfront ./chat ./limits ./pool ./metrics ./batch ./batches ./ledger ./cost

# One binary, ./claudebridge, for this machine (GOOS and GOARCH pick another).
build:
	$(GO) build -o claudebridge ./cmd/claudebridge

check:
	@test -z "$$(gofmt -l . | grep -v '^e2e/node/')" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# The binary builds, and vets, for every platform it is offered on.
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

cross:
	@set -e; for p in $(PLATFORMS); do \
		echo "build and vet $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build ./...; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./...; \
	done

# Debian's chromium for the browser tests, when it is not there yet.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# Debian's PostgreSQL server binaries: the PostgreSQL tests start a
# throwaway cluster of their own with them (internal/pgtest).
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql; }

node-deps:
	cd e2e/node && npm ci --no-audit --no-fund
	cd e2e/browser && npm ci --no-audit --no-fund

run:
	$(GO) run ./cmd/claudebridge serve

bench:
	$(GO) run ./cmd/loadtest
