# make test: everything CI runs. Needs Go and Node.js with npm; installs the
# Node clients (Anthropic SDK, AWS SDK, Claude Code) from npm into e2e/node,
# and playwright-core into e2e/browser (the browser tests drive Debian's chromium),
# and Debian's chromium and postgresql packages when they are missing.
GO ?= go
# Go 1.26.8 has a remotely triggerable HTTP/2 server crash over h2c, fixed in
# 1.26.9; go.mod's go line asks for the same release.
export GOTOOLCHAIN := go1.26.11
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test build check cross node-deps chromium postgresql run bench lambda lambda-rie build-ClaudebridgeFunction

test: check cross node-deps chromium postgresql lambda-rie
	CLAUDEBRIDGE_NODE_TESTS=required CLAUDEBRIDGE_PG_TESTS=required $(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./gateway ./retry ./sampling ./internal/httpbody ./anthropicapi ./bedrock ./bedrockfront ./chat ./limits ./pool ./metrics ./batch ./batches ./ledger ./cost

# The Lambda function: `bootstrap` for provided.al2023 on arm64 and x86_64,
# in dist/lambda/ARCH/, and zipped beside it (dist/lambda/ARCH/bootstrap.zip).
# lambda.norpc keeps aws-lambda-go's RPC mode (only the retired go1.x runtime
# used it) out of the binary; claudebridge imports only aws-lambda-go's
# event types today (lambdaurl runs the Runtime API loop itself).
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
LAMBDA_ARCHS := arm64 amd64

lambda:
	@set -e; for arch in $(LAMBDA_ARCHS); do \
		mkdir -p dist/lambda/$$arch; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build $(LAMBDA_FLAGS) -o dist/lambda/$$arch/bootstrap ./cmd/claudebridge; \
		rm -f dist/lambda/$$arch/bootstrap.zip; \
		(cd dist/lambda/$$arch && zip -q -9 bootstrap.zip bootstrap); \
		ls -l dist/lambda/$$arch/bootstrap dist/lambda/$$arch/bootstrap.zip; \
	done

# SAM's makefile build method (BuildMethod: makefile in template.yaml) calls
# this with ARTIFACTS_DIR set; GOARCH follows the function's architecture
# (arm64 unless SAM_GOARCH says otherwise).
SAM_GOARCH ?= arm64
build-ClaudebridgeFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(SAM_GOARCH) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./cmd/claudebridge

# The Lambda Runtime Interface Emulator the e2e tests run the function
# under, at a pinned version, in .bin/.
RIE := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
lambda-rie:
	GOBIN=$(CURDIR)/.bin $(GO) install $(RIE)

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
