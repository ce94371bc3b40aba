# kumo — cloud-controller-manager and CSI driver for NIFCLOUD and OpenStack.
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/kumo-project/kumo/pkg/version.Version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"
GOLANGCI_VERSION ?= v2.6.2
# How long each fuzz target runs in `make fuzz` (CI uses the short default).
FUZZTIME ?= 5s

.PHONY: all build test unit lint fuzz demo e2e bench deps clean

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/cloud-controller-manager ./cmd/cloud-controller-manager
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/csi-driver ./cmd/csi-driver
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/cloudsim ./cmd/cloudsim
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/csi-node-registrar ./cmd/csi-node-registrar
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/keystone-auth ./cmd/keystone-auth
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/client-keystone-auth ./cmd/client-keystone-auth

# Host tools the tests call (mkfs, losetup, etcd); installs only what is missing.
deps:
	./hack/install-deps.sh

# The README's test command: go vet + golangci-lint, unit + integration
# tests (simulators over real HTTP, real mounts on loop devices when root),
# short fuzzing, then the end-to-end suite on a real control plane
# (tests/e2e, its own module).
test: deps lint
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz
	$(MAKE) e2e

unit:
	$(GO) test -count=1 -short ./...

# Every Fuzz* target runs briefly; a crash fails the build.
fuzz:
	./hack/run-fuzz.sh $(FUZZTIME)

lint:
	$(GO) vet ./...
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION) run ./...

demo:
	./hack/demo.sh

e2e:
	./hack/e2e.sh

bench:
	./hack/bench.sh

clean:
	rm -rf $(BIN)
