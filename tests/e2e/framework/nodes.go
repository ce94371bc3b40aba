package framework

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TaintUninitialized is the taint kubelet puts on a node when it runs with
// --cloud-provider=external; the cloud node controller removes it.
const TaintUninitialized = "node.cloudprovider.kubernetes.io/uninitialized"

// TaintShutdown is the taint the cloud node lifecycle controller puts on
// nodes whose instance is shut down.
const TaintShutdown = "node.cloudprovider.kubernetes.io/shutdown"

// RegisterNode creates a Node the way kubelet with
// --cloud-provider=external does: uninitialized taint, no providerID, the
// attach/detach annotation, and a Ready condition.
func RegisterNode(ctx context.Context, c kubernetes.Interface, name string) (*v1.Node, error) {
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
			Annotations: map[string]string{"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
		},
		Spec: v1.NodeSpec{Taints: []v1.Taint{{Key: TaintUninitialized, Value: "true", Effect: v1.TaintEffectNoSchedule}}},
	}
	created, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create node %s: %w", name, err)
	}
	if err := SetNodeReady(ctx, c, name, v1.ConditionTrue); err != nil {
		return nil, err
	}
	// The API server's TaintNodesByCondition admission adds the not-ready
	// taint at creation; kube-controller-manager's node lifecycle
	// controller (not run here: there are no kubelet heartbeats) would
	// remove it once the node reports Ready.
	return created, removeTaint(ctx, c, name, v1.TaintNodeNotReady)
}

func removeTaint(ctx context.Context, c kubernetes.Interface, name, key string) error {
	for attempt := 0; ; attempt++ {
		node, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var keep []v1.Taint
		for _, t := range node.Spec.Taints {
			if t.Key != key {
				keep = append(keep, t)
			}
		}
		if len(keep) == len(node.Spec.Taints) {
			return nil
		}
		node.Spec.Taints = keep
		_, err = c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) || attempt >= 5 {
			return err
		}
	}
}

// SetNodeReady sets the node's Ready condition, as kubelet's heartbeat (or
// its absence, noticed by the node lifecycle controller) would.
func SetNodeReady(ctx context.Context, c kubernetes.Interface, name string, status v1.ConditionStatus) error {
	for attempt := 0; ; attempt++ {
		node, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.NewTime(time.Now())
		cond := v1.NodeCondition{Type: v1.NodeReady, Status: status, LastHeartbeatTime: now, LastTransitionTime: now, Reason: "KubeletReady"}
		if status != v1.ConditionTrue {
			cond.Reason = "NodeStatusUnknown"
		}
		replaced := false
		for i := range node.Status.Conditions {
			if node.Status.Conditions[i].Type == v1.NodeReady {
				node.Status.Conditions[i] = cond
				replaced = true
			}
		}
		if !replaced {
			node.Status.Conditions = append(node.Status.Conditions, cond)
		}
		if node.Status.Capacity == nil {
			// What kubelet reports, so that the scheduler can place pods.
			resources := v1.ResourceList{
				v1.ResourceCPU:    resource.MustParse("4"),
				v1.ResourceMemory: resource.MustParse("8Gi"),
				v1.ResourcePods:   resource.MustParse("110"),
			}
			node.Status.Capacity, node.Status.Allocatable = resources, resources
		}
		_, err = c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) || attempt >= 10 {
			return err
		}
	}
}

// HasTaint reports whether the node carries the taint key.
func HasTaint(n *v1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
