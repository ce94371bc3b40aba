//go:build tools

// Package attacher pins csi-attacher (github.com/kubernetes-csi/external-attacher)
// for the end-to-end harness. The upstream module carries replace directives,
// so `go install ...@version` refuses it; this wrapper module repeats them.
package attacher

import (
	_ "github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher"
)
