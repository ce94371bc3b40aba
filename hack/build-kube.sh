#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries the end-to-end harness runs
# (kube-apiserver, kube-controller-manager, kube-scheduler) from the Go module
# proxy, once: the results are kept in $KUMO_BIN_DIR (default
# tests/e2e/.bin) and reused while the pinned version is unchanged.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bindir=${KUMO_BIN_DIR:-$root/tests/e2e/.bin}
mod=$root/tests/e2e/tools/kube
version=$(awk '/^require k8s.io\/kubernetes/{print $3}' "$mod/go.mod")
mkdir -p "$bindir"
stamp="$bindir/.kube-$version"
if [[ -f "$stamp" ]]; then
  exit 0
fi
for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
  echo "build-kube: building $cmd $version" >&2
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bindir/$cmd" "k8s.io/kubernetes/cmd/$cmd")
done
touch "$stamp"
