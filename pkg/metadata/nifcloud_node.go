package metadata

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// EnvKubeNodeName is the node name some manifests set instead of NODE_NAME.
const EnvKubeNodeName = "KUBE_NODE_NAME"

// NodeName is the Kubernetes node name from NODE_NAME or KUBE_NODE_NAME.
func NodeName(getenv func(string) string) string {
	for _, k := range []string{EnvNodeName, EnvKubeNodeName} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

// NodeLabelZone is a ZoneLookup reading the topology.kubernetes.io/zone
// label of this node's Node object (the node name from getenv, see
// NodeName, else the instance ID, which is the node name on NIFCLOUD). It
// needs only "get nodes", never cloud credentials. client is built on
// first use, so a node given its zone otherwise never talks to the API.
func NodeLabelZone(client func() (kubernetes.Interface, error), getenv func(string) string) ZoneLookup {
	return func(ctx context.Context, instanceID string) (string, error) {
		name := NodeName(getenv)
		if name == "" {
			name = instanceID
		}
		c, err := client()
		if err != nil {
			return "", fmt.Errorf("kubernetes client: %w", err)
		}
		node, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("reading node %s: %w", name, err)
		}
		z := strings.TrimSpace(node.Labels[corev1.LabelTopologyZone])
		if z == "" {
			return "", fmt.Errorf("node %s has no %s label; set --zone or %s", name, corev1.LabelTopologyZone, EnvNIFCLOUDZone)
		}
		return z, nil
	}
}
