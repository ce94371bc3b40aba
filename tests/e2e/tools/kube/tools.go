//go:build tools

// Package kube pins the Kubernetes binaries (control plane and kubelet) the end-to-end
// harness builds: k8s.io/kubernetes cannot be `go install`ed directly, so
// this module requires it and pins every staging module to the matching
// v0.37.x release.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
