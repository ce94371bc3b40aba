#!/usr/bin/env bash
# `make demo`: the whole stack on the embedded simulator, with two real
# nodes (kubelet, containerd, runc, kumo's CSI node plugin and
# csi-node-registrar) and the real CSI sidecars. Installs etcd, runc, the
# CNI loopback plugin and busybox-static if missing, builds what it needs
# (the Kubernetes binaries, containerd and the sidecars once, cached under
# tests/e2e/.bin), then runs tests/e2e/cmd/demo. Pass --cloud=openstack for
# OpenStack, --exit to stop after printing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
KUMO_NEED_ETCD=1 KUMO_NEED_KUBELET=1 "$root/hack/install-deps.sh"
cd "$root/tests/e2e"
exec go run ./cmd/demo "$@"
