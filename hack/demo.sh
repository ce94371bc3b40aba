#!/usr/bin/env bash
# `make demo`: the whole stack on the embedded simulator. Installs etcd if
# missing, builds what it needs (Kubernetes binaries once, cached under
# tests/e2e/.bin), then runs tests/e2e/cmd/demo. Pass --cloud=openstack for
# OpenStack, --exit to stop after printing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
KUMO_NEED_ETCD=1 "$root/hack/install-deps.sh"
cd "$root/tests/e2e"
exec go run ./cmd/demo "$@"
