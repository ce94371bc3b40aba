//go:build tools

// Package containerd pins the container runtime of the e2e kubelets:
// containerd v2, its runc shim and ctr, built from the Go module proxy
// (runc itself comes from Debian).
package containerd

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
