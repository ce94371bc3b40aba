// Package ccmtest builds the Kubernetes objects the CCM test harnesses
// (bad input, chaos, hostile clouds) hand to the cloud providers.
package ccmtest

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ReadyNode is a Ready node with one internal address.
func ReadyNode(name, ip string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Status: v1.NodeStatus{
			Addresses:  []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: ip}},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: metav1.Now()}},
		},
	}
}

// LBService is a valid one-port TCP Service of type LoadBalancer named
// <prefix>-<i>; uidBase and i make its UID (hence its load balancer's
// name) unique.
func LBService(prefix string, uidBase, i int) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%03d", prefix, i), Namespace: "default", Annotations: map[string]string{},
			UID: types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", uidBase+i, i))},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer,
			Ports: []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080}}},
	}
}
