package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const annLoadBalancerID = "loadbalancer.openstack.org/load-balancer-id"

// openstackSharedScenario: a second Service shares the first one's load
// balancer through the load-balancer-id the CCM wrote back; the Service
// that created it is deleted first, the load balancer keeps serving the
// other, and goes with the last one.
func openstackSharedScenario(t *testing.T, o *openstackEnv) {
	c := o.cp.Client.CoreV1().Services("default")
	mk := func(name string, port int32, ann map[string]string) {
		t.Helper()
		s := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: ann},
			Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": name},
				Ports: []v1.ServicePort{{Name: "p", Port: port, Protocol: v1.ProtocolTCP}}}}
		if _, err := c.Create(o.ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	served := func(ctx context.Context, name string) (*v1.Service, error) {
		s, err := c.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if len(s.Status.LoadBalancer.Ingress) != 1 || s.Annotations[annLoadBalancerID] == "" {
			return nil, fmt.Errorf("%s: ingress %v, annotations %v", name, s.Status.LoadBalancer.Ingress, s.Annotations)
		}
		return s, nil
	}
	listenersOn := func(st openstackState, lbID string) map[int]bool {
		out := map[int]bool{}
		for _, l := range st.Listeners {
			if l.LoadBalancerID == lbID {
				out[l.ProtocolPort] = true
			}
		}
		return out
	}

	mk("owner", 80, nil)
	var lbID, addr string
	o.eventually("owner served, load-balancer-id written back", 120*time.Second, func(ctx context.Context) (bool, error) {
		s, err := served(ctx, "owner")
		if err != nil {
			return false, err
		}
		lbID, addr = s.Annotations[annLoadBalancerID], s.Status.LoadBalancer.Ingress[0].IP
		return true, nil
	})

	mk("guest", 8080, map[string]string{annLoadBalancerID: lbID})
	o.eventually("guest shares the owner's load balancer", 120*time.Second, func(ctx context.Context) (bool, error) {
		s, err := served(ctx, "guest")
		if err != nil {
			return false, err
		}
		st, err := o.state(ctx)
		if err != nil {
			return false, err
		}
		ls := listenersOn(st, lbID)
		if len(st.LoadBalancers) != 1 || !ls[80] || !ls[8080] || s.Status.LoadBalancer.Ingress[0].IP != addr {
			return false, fmt.Errorf("%d load balancers, listeners %v, guest ingress %v (owner %s)", len(st.LoadBalancers), ls, s.Status.LoadBalancer.Ingress, addr)
		}
		return true, nil
	})

	if err := c.Delete(o.ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	o.eventually("owner gone, the load balancer still serves the guest", 90*time.Second, func(ctx context.Context) (bool, error) {
		if _, err := c.Get(ctx, "owner", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("owner still there (%v)", err)
		}
		st, err := o.state(ctx)
		if err != nil {
			return false, err
		}
		ls := listenersOn(st, lbID)
		fipBound := false
		for _, f := range st.FloatingIPs {
			fipBound = fipBound || (f.FloatingIPAddress == addr && f.PortID != "")
		}
		if len(st.LoadBalancers) != 1 || ls[80] || !ls[8080] || !fipBound {
			return false, fmt.Errorf("%d load balancers, listeners %v, floating IP %s bound %v", len(st.LoadBalancers), ls, addr, fipBound)
		}
		return true, nil
	})

	if err := c.Delete(o.ctx, "guest", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	o.eventually("the last Service takes the load balancer and floating IP", 90*time.Second, func(ctx context.Context) (bool, error) {
		if _, err := c.Get(ctx, "guest", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("guest still there (%v)", err)
		}
		return o.lbCleanedUp(ctx)
	})
}
