//go:build tools

// Package hack pins the libraries kumo's packages are built on, so that
// go.sum always holds them even while a package that uses one is in flux.
package hack

import (
	_ "github.com/container-storage-interface/spec/lib/go/csi"
	_ "github.com/gophercloud/gophercloud/v2/openstack"
	_ "github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "golang.org/x/time/rate"
	_ "google.golang.org/grpc"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/cloud-provider"
	_ "k8s.io/cloud-provider/app"
	_ "k8s.io/cloud-provider/options"
	_ "k8s.io/component-base/cli"
	_ "k8s.io/klog/v2"
	_ "k8s.io/mount-utils"
)
