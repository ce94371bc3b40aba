//go:build tools

// Package resizer pins csi-resizer (github.com/kubernetes-csi/external-resizer/v2)
// for the end-to-end harness. v2 reads storage.k8s.io/v1
// VolumeAttributesClasses, the only version Kubernetes 1.37 serves. Its
// module has no replace directives; the wrapper still pins the dependency
// graph in go.sum and lets hack/build-kube.sh build it like the other sidecars.
package resizer

import (
	_ "github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer"
)
