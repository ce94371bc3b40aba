#!/usr/bin/env bash
# Builds the Kubernetes binaries the end-to-end harness runs from the Go
# module proxy, once: kube-apiserver, kube-controller-manager and
# kube-scheduler, kubelet and kubectl from k8s.io/kubernetes, and the CSI
# sidecars csi-attacher, csi-provisioner, csi-resizer, csi-snapshotter and
# snapshot-controller from kubernetes-csi/external-*. The upstream modules
# carry replace directives, so each is built from a wrapper module under
# tests/e2e/tools/ that repeats them. The VolumeSnapshot CRDs are copied from
# the snapshotter's client module into $bindir/crds. Results are kept in
# $KUMO_BIN_DIR (default tests/e2e/.bin) and reused while the pinned versions
# are unchanged.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bindir=${KUMO_BIN_DIR:-$root/tests/e2e/.bin}
mkdir -p "$bindir"

# build <wrapper module dir> <version> <cmd package>... builds each command
# unless its stamp for this version exists. With VERSION_VAR set (the
# kubernetes-csi sidecars' main.version) the version is linked in, so the
# sidecars log and report it instead of "unknown".
build() {
  local mod=$1 version=$2
  shift 2
  for pkg in "$@"; do
    local name stamp ldflags="-s -w"
    name=$(basename "$pkg")
    stamp="$bindir/.$name-$version"
    if [[ -n ${VERSION_VAR:-} ]]; then
      ldflags+=" -X $VERSION_VAR=$version"
      stamp+="-stamped"
    fi
    [[ -f "$stamp" && -x "$bindir/$name" ]] && continue
    echo "build-kube: building $name $version" >&2
    local start=$SECONDS
    (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bindir/$name" "$pkg")
    echo "build-kube: built $name in $((SECONDS - start))s" >&2
    touch "$stamp"
  done
}

version_of() { awk -v m="$2" '$1=="require" && $2==m {print $3} $1==m {print $2}' "$1/go.mod" | head -1; }

kube=$root/tests/e2e/tools/kube
build "$kube" "$(version_of "$kube" k8s.io/kubernetes)" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl

# The e2e nodes' container runtime (runc itself comes from Debian).
containerd=$root/tests/e2e/tools/containerd
build "$containerd" "$(version_of "$containerd" github.com/containerd/containerd/v2)" \
  github.com/containerd/containerd/v2/cmd/containerd \
  github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
  github.com/containerd/containerd/v2/cmd/ctr

attacher=$root/tests/e2e/tools/attacher
VERSION_VAR=main.version build "$attacher" "$(version_of "$attacher" github.com/kubernetes-csi/external-attacher/v4)" \
  github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher

provisioner=$root/tests/e2e/tools/provisioner
VERSION_VAR=main.version build "$provisioner" "$(version_of "$provisioner" github.com/kubernetes-csi/external-provisioner/v6)" \
  github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner

resizer=$root/tests/e2e/tools/resizer
VERSION_VAR=main.version build "$resizer" "$(version_of "$resizer" github.com/kubernetes-csi/external-resizer/v2)" \
  github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer

snapshotter=$root/tests/e2e/tools/snapshotter
snapshotter_version=$(version_of "$snapshotter" github.com/kubernetes-csi/external-snapshotter/v8)
VERSION_VAR=main.version build "$snapshotter" "$snapshotter_version" \
  github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter \
  github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller

# The VolumeSnapshot CRDs csi-snapshotter and snapshot-controller watch, from
# the client module the snapshotter wrapper pins (stamped like the binaries).
client_version=$(version_of "$snapshotter" github.com/kubernetes-csi/external-snapshotter/client/v8)
crd_stamp="$bindir/.crds-$client_version"
crds=(volumesnapshotclasses volumesnapshotcontents volumesnapshots)
if [[ ! -f "$crd_stamp" || ! -f "$bindir/crds/snapshot.storage.k8s.io_${crds[-1]}.yaml" ]]; then
  echo "build-kube: copying VolumeSnapshot CRDs $client_version" >&2
  client_dir=$(cd "$snapshotter" && go mod download github.com/kubernetes-csi/external-snapshotter/client/v8 &&
    go list -m -f '{{.Dir}}' github.com/kubernetes-csi/external-snapshotter/client/v8)
  rm -rf "$bindir/crds"
  mkdir -p "$bindir/crds"
  for kind in "${crds[@]}"; do
    install -m 0644 "$client_dir/config/crd/snapshot.storage.k8s.io_$kind.yaml" "$bindir/crds/"
  done
  touch "$crd_stamp"
fi
