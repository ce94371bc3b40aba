#!/usr/bin/env bash
# `make e2e`: the end-to-end scenarios against a real control plane
# (tests/e2e, its own Go module). Installs etcd if missing and builds the
# Kubernetes binaries once (cached under tests/e2e/.bin).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
KUMO_NEED_ETCD=1 KUMO_NEED_KUBELET=1 "$root/hack/install-deps.sh"
"$root/hack/build-kube.sh"
cd "$root/tests/e2e"
go vet ./...
go test -count=1 -timeout 30m ./... "$@"
