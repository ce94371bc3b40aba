package octavia

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// AnnLoadBalancerAddress is written back with the Service's external
// address, as OCCM does (load-balancer-id is written back too).
const AnnLoadBalancerAddress = annPrefix + "load-balancer-address"

// ServicePatcher writes annotations to a Service (a merge patch of
// metadata.annotations). The controller writes load-balancer-id and
// load-balancer-address back so that users and tools see which Octavia
// load balancer serves the Service, and can share it by that ID.
type ServicePatcher interface {
	PatchAnnotations(ctx context.Context, namespace, name string, annotations map[string]string) error
}

// writeBack records the load balancer ID and the external address on the
// Service when they differ from what it carries. A failure is logged and
// retried on the next sync: it must not fail a working load balancer.
func (l *LoadBalancer) writeBack(ctx context.Context, svc *v1.Service, lbID string, st *v1.LoadBalancerStatus) {
	if l.services == nil || lbID == "" {
		return
	}
	want := map[string]string{AnnLoadBalancerID: lbID}
	if st != nil && len(st.Ingress) > 0 {
		if addr := st.Ingress[0].IP; addr != "" {
			want[AnnLoadBalancerAddress] = addr
		} else if st.Ingress[0].Hostname != "" {
			want[AnnLoadBalancerAddress] = st.Ingress[0].Hostname
		}
	}
	changed := map[string]string{}
	for k, v := range want {
		if svc.Annotations[k] != v {
			changed[k] = v
		}
	}
	if len(changed) == 0 {
		return
	}
	logger := klog.FromContext(ctx)
	if err := l.services.PatchAnnotations(ctx, svc.Namespace, svc.Name, changed); err != nil {
		logger.Error(err, "Cannot write the load balancer annotations back to the Service", "annotations", changed)
		return
	}
	logger.V(2).Info("Wrote load balancer annotations to the Service", "annotations", changed)
}
