package chaos

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	cloudprovider "k8s.io/cloud-provider"
	servicecontroller "k8s.io/cloud-provider/controllers/service"
	servicehelper "k8s.io/cloud-provider/service/helpers"
	controllersmetrics "k8s.io/component-base/metrics/prometheus/controllers"
	"k8s.io/klog/v2"
)

// serviceSyncWorkers is --concurrent-service-syncs (the CCM default is 1;
// a handful keeps the run short without changing what is tested).
const serviceSyncWorkers = 5

// countingLB counts the provider calls the service controller makes and
// how many failed, i.e. how often the controller had to retry.
type countingLB struct {
	cloudprovider.LoadBalancer
	ensure, ensureErr, update, updateErr, del, delErr atomic.Int64
}

func (c *countingLB) EnsureLoadBalancer(ctx context.Context, cluster string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	c.ensure.Add(1)
	st, err := c.LoadBalancer.EnsureLoadBalancer(ctx, cluster, svc, nodes)
	if err != nil {
		c.ensureErr.Add(1)
	}
	return st, err
}

func (c *countingLB) UpdateLoadBalancer(ctx context.Context, cluster string, svc *v1.Service, nodes []*v1.Node) error {
	c.update.Add(1)
	err := c.LoadBalancer.UpdateLoadBalancer(ctx, cluster, svc, nodes)
	if err != nil {
		c.updateErr.Add(1)
	}
	return err
}

func (c *countingLB) EnsureLoadBalancerDeleted(ctx context.Context, cluster string, svc *v1.Service) error {
	c.del.Add(1)
	err := c.LoadBalancer.EnsureLoadBalancerDeleted(ctx, cluster, svc)
	if err != nil {
		c.delErr.Add(1)
	}
	return err
}

// countingCloud hands the service controller the counting load balancer.
type countingCloud struct {
	cloudprovider.Interface
	lb *countingLB
}

func (c *countingCloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return c.lb, true }

// lbResult is what one cloud's load balancer run measured.
type lbResult struct {
	Cloud          string
	Services       int
	CreateWall     time.Duration
	DeleteWall     time.Duration
	EnsureCalls    int64
	EnsureFailures int64
	UpdateCalls    int64
	DeleteCalls    int64
	DeleteFailures int64
}

// runLoadBalancers runs the real service controller on a fake API server
// holding nodes: it creates svcs, waits until every one has an ingress,
// deletes them as the API server does (deletionTimestamp, then removal
// once the controller dropped its finalizer) and waits until all are gone.
func runLoadBalancers(ctx context.Context, cloud string, p cloudprovider.Interface, nodes []*v1.Node, svcs []*v1.Service, timeout time.Duration) (*lbResult, error) {
	logger := klog.FromContext(ctx).WithValues("cloud", cloud, "workload", "loadbalancers")
	ctx = klog.NewContext(ctx, logger)
	lb, ok := p.LoadBalancer()
	if !ok {
		return nil, fmt.Errorf("%s: the provider offers no LoadBalancer", cloud)
	}
	counting := &countingLB{LoadBalancer: lb}
	client := fake.NewClientset()
	for _, n := range nodes {
		if _, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	for _, s := range svcs {
		if _, err := client.CoreV1().Services(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	factory := informers.NewSharedInformerFactory(client, 0)
	sc, err := servicecontroller.New(&countingCloud{Interface: p, lb: counting}, client,
		factory.Core().V1().Services(), factory.Core().V1().Nodes(), clusterName, nil)
	if err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	go sc.Run(ctx, serviceSyncWorkers, controllersmetrics.NewControllerManagerMetrics("chaos"))

	res := &lbResult{Cloud: cloud, Services: len(svcs)}
	defer func() {
		res.EnsureCalls, res.EnsureFailures = counting.ensure.Load(), counting.ensureErr.Load()
		res.UpdateCalls = counting.update.Load()
		res.DeleteCalls, res.DeleteFailures = counting.del.Load(), counting.delErr.Load()
	}()
	start := time.Now()
	createErr := waitFor(ctx, timeout, func() (bool, error) {
		list, err := client.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var pending []string
		for _, s := range list.Items {
			if len(s.Status.LoadBalancer.Ingress) == 0 {
				pending = append(pending, s.Name)
			}
		}
		if len(pending) > 0 {
			return false, fmt.Errorf("%d of %d services without ingress (%s); %s", len(pending), len(list.Items),
				strings.Join(first(pending, 5), ", "), lastFailures(ctx, client, pending))
		}
		return true, nil
	})
	res.CreateWall = time.Since(start)
	if createErr != nil {
		// Deleting anyway shows whether half-made load balancers are
		// cleaned up.
		createErr = fmt.Errorf("%s: load balancers did not converge: %w", cloud, createErr)
		logger.Error(createErr, "Deleting the services anyway")
	} else {
		logger.Info("All load balancers have an ingress", "services", len(svcs), "took", res.CreateWall)
	}

	start = time.Now()
	now := metav1.Now()
	for _, s := range svcs {
		if err := markDeleted(ctx, client, s, now); err != nil {
			return res, err
		}
	}
	err = waitFor(ctx, timeout, func() (bool, error) {
		list, err := client.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var pending []string
		for _, s := range list.Items {
			if servicehelper.HasLBFinalizer(&s) {
				pending = append(pending, s.Name)
				continue
			}
			// The finalizer is gone: the API server removes the object.
			if err := client.CoreV1().Services(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return false, err
			}
		}
		if len(pending) > 0 {
			return false, fmt.Errorf("%d services still hold the load balancer finalizer (%s); %s", len(pending),
				strings.Join(first(pending, 5), ", "), lastFailures(ctx, client, pending))
		}
		return true, nil
	})
	res.DeleteWall = time.Since(start)
	if err != nil {
		return res, errors.Join(createErr, fmt.Errorf("%s: load balancer deletions did not converge: %w", cloud, err))
	}
	logger.Info("All load balancers deleted", "took", res.DeleteWall)
	return res, createErr
}

// markDeleted sets the deletionTimestamp as the API server does for an
// object with finalizers.
func markDeleted(ctx context.Context, client *fake.Clientset, s *v1.Service, now metav1.Time) error {
	cur, err := client.CoreV1().Services(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("service %s: %w", s.Name, err)
	}
	cur.DeletionTimestamp = &now
	if _, err := client.CoreV1().Services(s.Namespace).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("marking service %s deleted: %w", s.Name, err)
	}
	return nil
}

// lastFailures summarizes the controller's latest failure events of the
// pending services, to say why they have not converged.
func lastFailures(ctx context.Context, client *fake.Clientset, pending []string) string {
	want := map[string]bool{}
	for _, p := range pending {
		want[p] = true
	}
	evs, err := client.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "events: " + err.Error()
	}
	last := map[string]string{}
	for _, e := range evs.Items {
		if want[e.InvolvedObject.Name] && e.Type == v1.EventTypeWarning {
			last[e.InvolvedObject.Name] = e.Reason + ": " + e.Message
		}
	}
	var out []string
	for name, msg := range last {
		out = append(out, name+" → "+msg)
	}
	sort.Strings(out)
	return "last failures: [" + strings.Join(first(out, 3), "; ") + "]"
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// waitFor polls cond every 100ms until it holds, fails hard or timeout
// passes; the last condition error says what was still pending.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lbServices are n Services of type LoadBalancer with distinct UIDs (the
// NIFCLOUD provider names load balancers after the UID); annotate, when
// set, gives the annotations of the i-th one.
func lbServices(cloud string, n int, annotate func(i int) map[string]string) []*v1.Service {
	out := make([]*v1.Service, 0, n)
	for i := range n {
		s := &v1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-web-%03d", cloud, i), Namespace: "default",
				UID: types.UID(fmt.Sprintf("%08x-%04x-4000-8000-%012x", 0xc0000000+i, len(cloud), i))},
			Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{{Name: "http",
				Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: int32(30000 + i)}}},
		}
		if annotate != nil {
			s.Annotations = annotate(i)
		}
		out = append(out, s)
	}
	return out
}
