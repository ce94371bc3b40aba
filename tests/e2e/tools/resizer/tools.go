//go:build tools

// Package resizer pins csi-resizer (github.com/kubernetes-csi/external-resizer)
// for the end-to-end harness. The upstream module carries replace directives,
// so `go install ...@version` refuses it; this wrapper module repeats them.
package resizer

import (
	_ "github.com/kubernetes-csi/external-resizer/cmd/csi-resizer"
)
