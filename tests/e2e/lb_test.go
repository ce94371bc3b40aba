package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// lbCase is what differs between the clouds in loadBalancerScenario.
type lbCase struct {
	annotations map[string]string
	// converged reports whether the cloud holds exactly one load balancer
	// serving the Service's ports on its NodePorts with these backends
	// (sorted node names) and the Service shows its address.
	converged func(ctx context.Context, s *v1.Service, backends []string) (bool, error)
	// addNode creates the cloud instance of a node that joins.
	addNode func(name string)
	newNode string
	// timeout bounds each convergence wait, deleteTimeout the clean-up.
	timeout, deleteTimeout time.Duration
	// cleanedUp reports whether nothing of the load balancer is left.
	cleanedUp func(ctx context.Context) (bool, error)
}

// loadBalancerScenario: a LoadBalancer Service gets a cloud load balancer
// with every node as a backend; a port is added; a node joins and another
// leaves; the Service goes and nothing is left in the cloud.
func loadBalancerScenario(t *testing.T, e *env, workers []string, lc lbCase) {
	c := e.cp.Client.CoreV1()
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default", Annotations: lc.annotations},
		Spec: v1.ServiceSpec{
			Type:     v1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "nginx"},
			Ports:    []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}},
		},
	}
	if _, err := c.Services("default").Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect := func(what string, backends []string) {
		t.Helper()
		slices.Sort(backends)
		e.eventually(what, lc.timeout, func(ctx context.Context) (bool, error) {
			s, err := c.Services("default").Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return lc.converged(ctx, s, backends)
		})
	}
	expect("LB created with every node", slices.Clone(workers))

	updateService(t, e, func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Port: 443, Protocol: v1.ProtocolTCP})
	})
	expect("listener added for the new port", slices.Clone(workers))

	lc.addNode(lc.newNode)
	if _, err := framework.RegisterNode(e.ctx, e.cp.Client, lc.newNode); err != nil {
		t.Fatal(err)
	}
	if err := c.Nodes().Delete(e.ctx, workers[0], metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("backends follow the nodes", []string{workers[1], workers[2], lc.newNode})

	if err := c.Services("default").Delete(e.ctx, "nginx", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("Service and everything of its LB deleted", lc.deleteTimeout, func(ctx context.Context) (bool, error) {
		_, err := c.Services("default").Get(ctx, "nginx", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("service still there (%v)", err)
		}
		return lc.cleanedUp(ctx)
	})
}

func updateService(t *testing.T, e *env, mutate func(*v1.Service)) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, err := e.cp.Client.CoreV1().Services("default").Get(e.ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mutate(s)
		_, err = e.cp.Client.CoreV1().Services("default").Update(e.ctx, s, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) || attempt > 5 {
			t.Fatal(err)
		}
	}
}
