# applinkctl — see README.md. `make test` is what CI runs.
GO        ?= go
BIN       := bin/applinkctl
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: quickstart build test test-variants lint fmt-check vet staticcheck tidy-check unit bench soak fuzz schema man clean keys \
	completions release-snapshot image

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/applinkctl

test: fmt-check tidy-check vet staticcheck unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Releases are built for Linux, macOS and Windows, so the code and its
# tests must at least type-check there: a Unix-only call in a test file
# (a FIFO, a signal) needs a build tag or a testkit helper.
vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...

# staticcheck is pinned in go.mod's tool directive (go get -tool …@VERSION
# changes it), so its version and checksums come from go.mod and go.sum.
staticcheck:
	$(GO) tool staticcheck ./...

# go.mod and go.sum must be what go mod tidy makes of them: a dependency
# added or dropped without tidying fails here, not in someone else's build.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

unit:
	$(GO) test -race -count=1 ./...

# The emulator-backed suites (plan, apply, drift, export: the Go packages
# and the CLI's sandbox scripts, the examples and the API contract) once
# under each variant of the emulator, the API's open questions answered
# otherwise (docs/emulator.md), and once with every list paged: what
# applinkctl must get right where the public sources are silent. Without
# -race and only the tests that use the emulator, to keep it to minutes;
# .ci/run runs it after make test.
test-variants:
	GO=$(GO) ./.ci/test-variants

# The benchmarks against the in-process emulator (a few minutes; not
# part of make test): prints the table, writes bench/results.json and
# renders docs/performance.md from it. Each timing figure is the median of
# 5 runs; BENCH_RUNS=1 make bench is quicker.
bench:
	$(GO) run ./bench -runs $(or $(BENCH_RUNS),5) -out bench/results.json -doc docs/performance.md

# Regenerate golden files and the committed schema.
update:
	$(GO) test ./... -update

# Fuzz every parser of outside input for FUZZTIME each (never panics, typed
# refusals, always answers quickly): the manifest loader and its ${VAR}
# expansion, the fast spec reader (whose documents must be kin-openapi's),
# the saved-plan reader, the state file reader and the emulator's
# multipart/zip publish parser. A crash leaves its input in the package's
# testdata/fuzz/ (commit it: it becomes a regression test of make test).
FUZZTIME ?= 30s
FUZZ_TARGETS := FuzzLoad:./internal/manifest FuzzExpand:./internal/manifest \
	FuzzFastSpec:./internal/manifest \
	FuzzReadPlanFile:./internal/planfile FuzzLoadStateFile:./internal/state \
	FuzzPublishParser:./internal/emulator
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t%%:*} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz="^$${t%%:*}\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=10s $${t#*:}; \
	done

# The reliability suites at the issue's full numbers (20 fault runs, 30
# crash runs per backend, the CLI's own timeouts): see docs/reliability.md.
# Set APPLINKCTL_REQUIRE_PG=1 to fail rather than skip without PostgreSQL.
soak:
	APPLINKCTL_SOAK=1 $(GO) test -count=1 -timeout 60m -v ./internal/reliability

# The README's main job: plan and apply the quickstart example against the
# built-in sandbox (no Heroku account), then show that a second plan is empty.
quickstart: keys
	$(GO) run ./cmd/applinkctl apply -f examples/quickstart --sandbox --auto-approve
	$(GO) run ./cmd/applinkctl plan -f examples/quickstart --sandbox --detailed-exitcode

# The quickstart's JWT key: generated locally, never committed (gitignored).
keys: examples/quickstart/keys/server.key

examples/quickstart/keys/server.key:
	mkdir -p $(@D)
	umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -quiet -out $@

schema: build
	$(BIN) schema > schema/applink.schema.json

# The man page, generated from the command definitions (a test keeps the
# committed page in sync); written through a temp file so a failed build
# leaves the old page in place.
man:
	mkdir -p docs/man
	$(GO) run ./cmd/applinkctl man > docs/man/applinkctl.1.tmp
	mv docs/man/applinkctl.1.tmp docs/man/applinkctl.1

# Release archives for every platform, built locally: no tag needed, nothing
# published (dist/: six archives with the man page and completions, and
# checksums.txt). GoReleaser is installed once per version into TOOLS_DIR.
GORELEASER_VERSION := v2.15.1
TOOLS_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/applinkctl-tools
GORELEASER := $(TOOLS_DIR)/goreleaser-$(GORELEASER_VERSION)/goreleaser

$(GORELEASER):
	GOBIN=$(@D) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

release-snapshot: $(GORELEASER)
	APPLINKCTL_COMMIT=$(COMMIT) $(GORELEASER) release --snapshot --clean --skip=publish

# completions/: the bash, zsh and fish scripts the release archives carry.
completions:
	GO=$(GO) sh scripts/completions.sh

# The container image (Dockerfile), stamped like make build.
IMAGE ?= applinkctl:dev
CONTAINER_ENGINE ?= docker
image:
	$(CONTAINER_ENGINE) build -t $(IMAGE) --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) .

clean:
	rm -rf bin dist completions
