//go:build tools

// Package provisioner pins csi-provisioner (github.com/kubernetes-csi/external-provisioner)
// for the end-to-end harness. The upstream module carries replace directives,
// so `go install ...@version` refuses it; this wrapper module repeats them.
package provisioner

import (
	_ "github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner"
)
