#!/usr/bin/env bash
# Installs the host tools kumo's tests use, if they are missing. Needs root
# (or passwordless apt) for installation; without it, tests that need the
# tools skip themselves with a message.
set -euo pipefail

need=()
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v mkfs.xfs >/dev/null 2>&1 || need+=(xfsprogs)
command -v losetup >/dev/null 2>&1 || need+=(mount)
command -v blkid >/dev/null 2>&1 || need+=(util-linux)
if [[ "${KUMO_NEED_ETCD:-}" == 1 ]] && ! command -v etcd >/dev/null 2>&1; then
  need+=(etcd-server)
fi
# The e2e kubelets: runc for containerd, the CNI loopback plugin, and a
# static busybox for the locally made Pod image.
if [[ "${KUMO_NEED_KUBELET:-}" == 1 ]]; then
  command -v runc >/dev/null 2>&1 || need+=(runc)
  [[ -x /usr/lib/cni/loopback ]] || need+=(containernetworking-plugins)
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
fi
if ((${#need[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing ${need[*]}; not root, skipping installation" >&2
  exit 0
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
