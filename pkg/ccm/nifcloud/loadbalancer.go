package nifcloud

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// lbNameLength is the length of load balancer names: NIFCLOUD limits
// them to 15 characters, and the reference CCM uses the first 15
// characters of the Service UID without dashes.
const lbNameLength = 15

// loadBalancerName is the name of the Service's load balancer (L4 or
// elastic): its UID without '-', cut to 15 characters.
func loadBalancerName(svc *v1.Service) string {
	n := strings.ReplaceAll(string(svc.UID), "-", "")
	if len(n) > lbNameLength {
		n = n[:lbNameLength]
	}
	return n
}

// GetLoadBalancerName returns the name of the Service's load balancer.
func (p *Provider) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return loadBalancerName(svc)
}

// GetLoadBalancer reports whether the Service's load balancer exists and
// its status. It looks at the annotated type first, then at the other one
// (the type annotation may have changed since the load balancer was made).
func (p *Provider) GetLoadBalancer(ctx context.Context, _ string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	name, err := requireName(svc)
	if err != nil {
		return nil, false, err
	}
	kinds := []string{LBTypeL4, LBTypeElastic}
	if strings.TrimSpace(svc.Annotations[AnnotationLBType]) == LBTypeElastic {
		kinds = []string{LBTypeElastic, LBTypeL4}
	}
	for _, kind := range kinds {
		vip, ok, err := p.describeVIP(ctx, kind, name)
		if err != nil || ok {
			return ingressStatus(vip), ok, err
		}
	}
	// No load balancer, but rules tagged for one (left by an older
	// version, which deleted the ELB before revoking them, or by an ELB
	// deleted by hand): report one, so that the service controller calls
	// EnsureLoadBalancerDeleted, which revokes them. Costs one listing,
	// only when there is no load balancer (the controller asks before a
	// cleanup).
	left, err := p.hasTaggedRules(ctx, name)
	if err != nil || !left {
		return nil, false, err
	}
	klog.FromContext(ctx).Info("Security group rules of a removed elastic load balancer remain; reporting it as existing so that they are revoked",
		"service", klog.KObj(svc), "loadBalancer", name)
	return &v1.LoadBalancerStatus{}, true, nil
}

// EnsureLoadBalancer creates or reconciles the Service's load balancer
// with the given nodes as backends and returns its status. Invalid
// settings are reported as a Warning event on the Service and as an
// error, before any cloud call.
func (p *Provider) EnsureLoadBalancer(ctx context.Context, _ string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	return p.ensure(ctx, svc, nodes, true)
}

// ensure reconciles the load balancer; only with mayCreate does it create
// one that is missing.
func (p *Provider) ensure(ctx context.Context, svc *v1.Service, nodes []*v1.Node, mayCreate bool) (*v1.LoadBalancerStatus, error) {
	name, err := requireName(svc)
	if err != nil {
		return nil, err
	}
	spec, err := p.validate(svc)
	if err != nil {
		return nil, err
	}
	log := klog.FromContext(ctx).WithValues("service", klog.KObj(svc), "loadBalancer", name, "type", spec.Type)
	ctx = klog.NewContext(ctx, log)
	backends, err := p.backends(ctx, nodes)
	if err != nil {
		return nil, err
	}
	var vip string
	switch spec.Type {
	case LBTypeElastic:
		vip, err = p.ensureELB(ctx, svc, name, spec, backends, mayCreate)
	default:
		vip, err = p.ensureL4(ctx, svc, name, spec, backends, mayCreate)
	}
	if err != nil {
		return nil, err
	}
	// A type change leaves the other kind behind: remove it now that the
	// new one serves.
	if spec.Type == LBTypeElastic {
		_, err = p.deleteL4(ctx, name)
	} else {
		err = p.removeELB(ctx, name, false)
	}
	if err != nil {
		return nil, fmt.Errorf("removing the load balancer of the previous type: %w", err)
	}
	return ingressStatus(vip), nil
}

// UpdateLoadBalancer reconciles the Service's load balancer with a new
// node set. It runs the full reconcile (diffs make it cheap when only the
// backends changed) but never creates: the service controller's node sync
// runs beside the Service's own sync, and creating here would bring back a
// load balancer that a concurrent EnsureLoadBalancerDeleted just removed.
func (p *Provider) UpdateLoadBalancer(ctx context.Context, _ string, svc *v1.Service, nodes []*v1.Node) error {
	_, err := p.ensure(ctx, svc, nodes, false)
	return err
}

// errNotCreatedOnUpdate reports a load balancer an update found missing.
func errNotCreatedOnUpdate(name string) error {
	return fmt.Errorf("load balancer %q does not exist; a node update does not create it, the Service's own sync does", name)
}

// EnsureLoadBalancerDeleted deletes the Service's load balancer of either
// type and the security group rules made for it. Absent resources are
// success, so the call is idempotent; annotations are not consulted, so
// invalid ones never block a deletion.
func (p *Provider) EnsureLoadBalancerDeleted(ctx context.Context, _ string, svc *v1.Service) error {
	name, err := requireName(svc)
	if err != nil {
		return err
	}
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("service", klog.KObj(svc), "loadBalancer", name))
	_, errL4 := p.deleteL4(ctx, name)
	// Also when the ELB is already gone: rules tagged for it may remain
	// (see GetLoadBalancer).
	errELB := p.removeELB(ctx, name, true)
	return errors.Join(errL4, errELB)
}

func requireName(svc *v1.Service) (string, error) {
	if svc == nil {
		return "", errors.New("nil service")
	}
	name := loadBalancerName(svc)
	if name == "" {
		return "", fmt.Errorf("service %s/%s has no UID to name its load balancer after", svc.Namespace, svc.Name)
	}
	return name, nil
}

// validate parses the Service; on error it records a Warning event naming
// every bad annotation with its allowed values.
func (p *Provider) validate(svc *v1.Service) (*lbSpec, error) {
	spec, err := parseService(svc)
	if err != nil {
		return nil, p.rejectAnnotations(svc, err)
	}
	return spec, nil
}

// rejectAnnotations records the Warning event for invalid settings (err
// joins *AnnotationError values) and returns the error to report.
func (p *Provider) rejectAnnotations(svc *v1.Service, err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	p.warn(svc, ReasonInvalidAnnotation, "Load balancer left unchanged: %s", msg)
	return &serviceError{msg: fmt.Sprintf("service %s/%s: %s", svc.Namespace, svc.Name, msg), err: err}
}

// serviceError is a one-line error message that still unwraps to the
// *AnnotationError values it reports.
type serviceError struct {
	msg string
	err error
}

func (e *serviceError) Error() string { return e.msg }
func (e *serviceError) Unwrap() error { return e.err }

// backends maps the nodes to their instances, sorted by instance id.
// Nodes without an instance are skipped (logged): they cannot serve.
func (p *Provider) backends(ctx context.Context, nodes []*v1.Node) ([]*nifcloud.Instance, error) {
	found, missing, err := p.nodeInstances(ctx, nodes)
	if err != nil {
		return nil, fmt.Errorf("resolving node instances: %w", err)
	}
	if len(missing) > 0 {
		klog.FromContext(ctx).Info("Nodes without a NIFCLOUD instance are left out of the load balancer", "nodes", missing)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].InstanceID < found[j].InstanceID })
	return found, nil
}

// describeVIP returns the VIP of the named load balancer of one kind.
func (p *Provider) describeVIP(ctx context.Context, kind, name string) (string, bool, error) {
	if kind == LBTypeElastic {
		d, err := p.describeELB(ctx, name)
		if err != nil || d == nil {
			return "", false, err
		}
		return d.DNSName, true, nil
	}
	ds, err := p.describeL4(ctx, name)
	if err != nil || len(ds) == 0 {
		return "", false, err
	}
	return ds[0].DNSName, true, nil
}

func ingressStatus(vip string) *v1.LoadBalancerStatus {
	if vip == "" {
		return &v1.LoadBalancerStatus{}
	}
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: vip}}}
}

// backendSet indexes instances by unique id and by id, the keys a
// registered instance may be described with.
type backendSet struct {
	byUnique map[string]*nifcloud.Instance
	byID     map[string]*nifcloud.Instance
}

func newBackendSet(list []*nifcloud.Instance) backendSet {
	s := backendSet{byUnique: map[string]*nifcloud.Instance{}, byID: map[string]*nifcloud.Instance{}}
	for _, in := range list {
		s.byID[in.InstanceID] = in
		if in.InstanceUniqueID != "" {
			s.byUnique[in.InstanceUniqueID] = in
		}
	}
	return s
}

// diffInstances returns the instance ids to register and to deregister so
// that registered becomes want. Registered instances match by unique id,
// falling back to the id, as in the reference CCM.
func diffInstances(want []*nifcloud.Instance, registered []nifcloud.LBInstance) (add, remove []string) {
	ws := newBackendSet(want)
	seen := map[string]bool{}
	for _, r := range registered {
		var in *nifcloud.Instance
		if r.InstanceUniqueID != "" {
			in = ws.byUnique[r.InstanceUniqueID]
		} else {
			in = ws.byID[r.InstanceID]
		}
		if in == nil {
			remove = append(remove, r.InstanceID)
			continue
		}
		seen[in.InstanceID] = true
	}
	for _, in := range want {
		if !seen[in.InstanceID] {
			add = append(add, in.InstanceID)
		}
	}
	return add, remove
}

func registeredIDs(list []nifcloud.LBInstance) []string {
	out := make([]string, 0, len(list))
	for _, r := range list {
		out = append(out, r.InstanceID)
	}
	return out
}
