//go:build tools

// Package snapshotter pins csi-snapshotter and snapshot-controller
// (github.com/kubernetes-csi/external-snapshotter) for the end-to-end harness.
// The upstream module carries replace directives, so `go install ...@version`
// refuses it; this wrapper module repeats them, except its replace of the
// client module by ./client: the wrapper requires the published
// github.com/kubernetes-csi/external-snapshotter/client/v8 of the same version
// instead (its config/crd holds the VolumeSnapshot CRDs build-kube.sh copies).
package snapshotter

import (
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
