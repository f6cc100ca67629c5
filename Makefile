# mini-isolate build, test and demo entry points. Run as root on Debian 12.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

GO        ?= go
# Static, as runc is released: the judge init runs from this binary inside
# sandboxes whose root filesystem has no C library.
BUILDTAGS ?= seccomp netgo osusergo urfave_cli_no_docs
BIN       := bin/mini-isolate
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
# The system configuration a setuid front end reads (make install puts it).
CONFDIR   ?= /etc/mini-isolate
# One stamp for both binaries of a build, new at every make: the command
# line runs only the manager built with it.
BUILD_STAMP := $(shell od -An -N8 -tx8 /dev/urandom | tr -d ' ')
LDFLAGS   := -X main.gitCommit=$(COMMIT) -X github.com/mini-isolate/mini-isolate/box.SystemConfigPath=$(CONFDIR)/isolate.conf -X github.com/mini-isolate/mini-isolate/box.BuildStamp=$(BUILD_STAMP) -extldflags -static
GOBUILD   := CGO_ENABLED=1 $(GO) build -trimpath -tags "$(BUILDTAGS)" -ldflags "$(LDFLAGS)"

.PHONY: all build deps test unit race fuzz conformance runc-cli runc-ref attacks e2e cgroup2 test-cgroup2 demo bench lint install clean FORCE

all: build

build: $(BIN) bin/mini-isolate-manager bin/isolate

$(BIN): FORCE
	$(GOBUILD) -o $@ ./cmd/mini-isolate

# The manager, a binary of its own to be small (docs/performance.md);
# mini-isolate runs it from its own directory.
bin/mini-isolate-manager: FORCE
	$(GOBUILD) -o $@ ./cmd/mini-isolate-manager

# The quick isolate front end (cmd/isolate): a static C client of the
# manager, which runs $(BIN) itself when no manager answers. Linked with
# musl where it is installed: glibc's static start-up probes the CPU with
# CPUID, which a virtual machine traps, and that was a third of the
# client's time (docs/performance.md).
CC        ?= gcc
ISOLATE_CC ?= $(shell command -v musl-gcc 2>/dev/null || echo $(CC))
ISOLATE_C  = $(ISOLATE_CC) -O2 -Wall -Wextra -static -DCONFIG_FILE='"$(CONFDIR)/isolate.conf"'
bin/isolate: cmd/isolate/isolate.c
	@mkdir -p bin
	$(ISOLATE_C) -DMINI_ISOLATE='"$(CURDIR)/$(BIN)"' -o $@ $<

deps:
	@hack/install-deps.sh

# Where the stages of make test leave their counts (hack/test.sh).
RESULTS   ?= bin/results
export RESULTS
TESTSUM   := bin/testsum

$(TESTSUM): FORCE
	@$(GO) build -o $@ ./hack/testsum

# Unit and integration tests run against the binary built above, one
# package at a time: the integration tests measure times and count host
# resources, which other packages' sandboxes would disturb.
unit: deps build $(TESTSUM)
	@mkdir -p $(RESULTS)
	set -o pipefail; MINI_ISOLATE_BINARY=$(CURDIR)/$(BIN) $(GO) test -json -p 1 -tags "$(BUILDTAGS)" -count=1 -timeout 30m ./... \
		| $(TESTSUM) -stage unit -out $(RESULTS)/unit.sum

# The packages whose tests run goroutines against each other without a
# sandbox (the manager's connections, pool and reaper, supervision,
# interaction), again under the race detector.
RACE_PKGS := ./box/ ./interact/ ./isolatecmd/ ./manager/ ./runtime/hostfile/ ./runtime/judged/ ./runtime/judgeinit/ ./runtime/proc/ ./runtime/supervise/
race: deps build $(TESTSUM)
	@mkdir -p $(RESULTS)
	set -o pipefail; MINI_ISOLATE_BINARY=$(CURDIR)/$(BIN) CGO_ENABLED=1 $(GO) test -race -json -tags "$(BUILDTAGS)" -count=1 -timeout 10m $(RACE_PKGS) \
		| $(TESTSUM) -stage race -out $(RESULTS)/race.sum

# Every test, the orchestrator run and the cgroup v2 guest included;
# E2E=0 or CGROUP2=0 leaves those out. Each stage runs even when an earlier
# one failed, and the run ends with a summary of every stage's counts.
E2E     ?= 1
CGROUP2 ?= 1
STAGES  := lint unit race fuzz conformance runc-cli attacks $(if $(filter 1,$(E2E)),e2e) $(if $(filter 1,$(CGROUP2)),cgroup2)
NOT_RUN := $(if $(filter 1,$(E2E)),,e2e(E2E=$(E2E))) $(if $(filter 1,$(CGROUP2)),,cgroup2(CGROUP2=$(CGROUP2)))
test: deps
	@NOT_RUN="$(strip $(NOT_RUN))" hack/test.sh $(STAGES)

# Every fuzz target runs briefly; findings land in testdata/fuzz. Budgets
# are counts of executions (about 5-10 s each here), not durations: Go 1.26's
# fuzz coordinator can fail a -fuzztime=Ns run with "context deadline
# exceeded" on a loaded machine (go.dev/issue/75804). FUZZTIME=30s (or
# 1000000x) overrides every budget.
FUZZ_TARGETS := FuzzDecodeSpec:./specconv:40000x FuzzJudgeAnnotations:./policy:150000x \
	FuzzParseDirRule:./policy:60000x FuzzParseEnvRule:./policy:150000x \
	FuzzParseConfig:./box:100000x FuzzIsolateArgs:./isolatecmd:80000x \
	FuzzParse:./profiles:1500x
fuzz: deps $(TESTSUM)
	@mkdir -p $(RESULTS)
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; rest=$${t#*:}; pkg=$${rest%%:*}; budget=$${FUZZTIME:-$${rest#*:}}; \
		echo "fuzz $$name ($$budget)" >&2; \
		$(GO) test -json -tags "$(BUILDTAGS)" -run='^$$' -fuzz="^$$name$$" -fuzztime=$$budget $$pkg; \
	done | $(TESTSUM) -stage fuzz -out $(RESULTS)/fuzz.sum

# Built first, then run, so that its exit status (1: regressions against
# runc, 2: setup error) reaches make unchanged.
conformance: deps build
	$(GO) build -o bin/oci-conformance ./conformance/oci
	bin/oci-conformance -runtime $(CURDIR)/$(BIN) -reference runc

# runc at the libcontainer version in go.mod, built from the module proxy
# once: the reference of runc-cli.
RUNC_REF := bin/ref/runc
runc-ref: deps
	@v=$$($(GO) list -m -f '{{.Version}}' github.com/opencontainers/runc); \
	if ! $(RUNC_REF) --version 2>/dev/null | grep -qx "runc version $${v#v}"; then \
		echo "building runc $$v, the reference of runc-cli"; \
		GOBIN=$(CURDIR)/bin/ref CGO_ENABLED=1 $(GO) install -tags seccomp github.com/opencontainers/runc@$$v; \
	fi

# mini-isolate and runc side by side on every command line of runc's CLI;
# exit status 1 on a difference that docs/oci-compat.md does not list.
runc-cli: deps build runc-ref
	$(GO) build -o bin/runccli ./conformance/runccli
	bin/runccli -runtime $(CURDIR)/$(BIN) -reference $(CURDIR)/$(RUNC_REF) -intended docs/oci-compat.md

# Hostile programs in boxes; exit status 1 when one is not contained.
attacks: deps build
	$(GO) build -o bin/attacks ./conformance/attacks
	bin/attacks -runtime $(CURDIR)/$(BIN)

# mini-isolate as the runtime of Docker, Podman, containerd and Kubernetes
# (CRI, through crictl), with runc on the same steps as the reference; it
# installs the orchestrators from Debian and starts private daemons. Exit
# status 1 when an orchestrator fails (hack/orchestrators/README.md), 2 when
# the test bed cannot be set up.
e2e: deps build
	bash hack/orchestrators/run.sh --runtime $(CURDIR)/$(BIN)

# The cgroup code paths' tests on a pure cgroup v2 host: a Debian 12 guest
# under QEMU's software emulation (hack/cgroup2-vm), built once (about 11
# minutes) and cached in /var/cache/mini-isolate/cgroup2-vm.
cgroup2: deps build $(TESTSUM)
	@hack/install-deps.sh qemu-system-x86 mmdebstrap e2fsprogs
	hack/cgroup2-vm/run.sh $(CURDIR)/$(BIN)

test-cgroup2: cgroup2

demo: deps build
	@hack/demo.sh $(CURDIR)/$(BIN)

bench: deps build
	$(GO) build -o bin/bench ./hack/bench
	bin/bench -runtime $(CURDIR)/$(BIN)

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet -tags "$(BUILDTAGS)" ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags "$(BUILDTAGS)" ./...

# Installs the binary, the isolate name, and a commented default
# configuration (kept if one exists). SETUID=1 makes the binary setuid
# root, executable by GROUP only (created if missing), as CMS and Judge0
# deploy isolate (docs/install.md).
PREFIX  ?= /usr/local
SETUID  ?= 0
GROUP   ?= isolate
install: deps build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mini-isolate
	install -D -m 0755 bin/mini-isolate-manager $(DESTDIR)$(PREFIX)/bin/mini-isolate-manager
	$(ISOLATE_C) -DMINI_ISOLATE='"$(PREFIX)/bin/mini-isolate"' -o $(DESTDIR)$(PREFIX)/bin/isolate cmd/isolate/isolate.c
	install -d -m 0755 $(DESTDIR)$(CONFDIR)
	[ -e $(DESTDIR)$(CONFDIR)/isolate.conf ] || install -m 0644 hack/install/isolate.conf $(DESTDIR)$(CONFDIR)/isolate.conf
	@if [ "$(SETUID)" = 1 ]; then \
		getent group $(GROUP) >/dev/null || groupadd --system $(GROUP); \
		chown root:$(GROUP) $(DESTDIR)$(PREFIX)/bin/mini-isolate $(DESTDIR)$(PREFIX)/bin/isolate; \
		chmod 4750 $(DESTDIR)$(PREFIX)/bin/mini-isolate $(DESTDIR)$(PREFIX)/bin/isolate; \
		echo "installed setuid root, for the members of group $(GROUP)"; \
	fi

clean:
	rm -rf bin

FORCE:
