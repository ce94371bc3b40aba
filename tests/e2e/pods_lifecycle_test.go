package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// nodeLifecycleOnRealNodes: a machine is shut down — its kubelet stops and
// the cloud reports its instance stopped. The node lifecycle controller
// marks the Node not ready from the missing heartbeats (nothing is set by
// hand), the CCM's cloud node lifecycle controller adds the shutdown
// taint; once the instance is deleted the CCM removes the Node.
func nodeLifecycleOnRealNodes(t *testing.T, c *podCluster, pc podCloud, name string) {
	n, id := c.nodes[name], c.cloudIDs[name]
	if n == nil || id == "" {
		t.Fatalf("no real node %s", name)
	}
	n.Stop()
	if err := pc.stopInstance(c.env, id); err != nil {
		t.Fatal(err)
	}
	nodes := c.cp.Client.CoreV1().Nodes()
	c.eventually("the stopped machine's node is not ready and tainted as shut down", 2*time.Minute, func(ctx context.Context) (bool, error) {
		node, err := nodes.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready := v1.ConditionUnknown
		for _, cond := range node.Status.Conditions {
			if cond.Type == v1.NodeReady {
				ready = cond.Status
			}
		}
		return ready != v1.ConditionTrue && framework.HasTaint(node, framework.TaintShutdown),
			fmt.Errorf("Ready=%s, taints %v", ready, node.Spec.Taints)
	})
	if err := pc.deleteInstance(c.env, id); err != nil {
		t.Fatal(err)
	}
	c.eventually("the deleted machine's node is removed", 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := nodes.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	delete(c.nodes, name)
}
