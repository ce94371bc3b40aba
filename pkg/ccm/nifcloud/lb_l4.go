package nifcloud

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// protocolTCP is the only listener protocol Services get.
const protocolTCP = "TCP"

// describeL4 returns the L4 load balancer's descriptions (one per
// listener), nil when it does not exist.
func (p *Provider) describeL4(ctx context.Context, name string) ([]nifcloud.LoadBalancerDescription, error) {
	out, err := p.api.DescribeLoadBalancers(ctx, &nifcloud.DescribeLoadBalancersInput{Names: []string{name}})
	if nifcloud.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing load balancer %q: %w", name, err)
	}
	var own []nifcloud.LoadBalancerDescription
	for _, d := range out.LoadBalancers {
		if d.LoadBalancerName == name {
			own = append(own, d)
		}
	}
	return own, nil
}

// ensureL4 creates or reconciles an L4 load balancer and returns its VIP.
func (p *Provider) ensureL4(ctx context.Context, svc *v1.Service, name string, spec *lbSpec, backends []*nifcloud.Instance, mayCreate bool) (string, error) {
	log := klog.FromContext(ctx)
	cur, err := p.describeL4(ctx, name)
	if err != nil {
		return "", err
	}
	changed := false
	if len(cur) == 0 {
		if !mayCreate {
			return "", errNotCreatedOnUpdate(name)
		}
		if err := p.createL4(ctx, name, spec); err != nil {
			return "", err
		}
		changed = true
	} else {
		if changed, err = p.reconcileL4Ports(ctx, name, spec, cur); err != nil {
			return "", err
		}
	}
	if changed {
		if cur, err = p.describeL4(ctx, name); err != nil {
			return "", err
		}
		if len(cur) == 0 {
			return "", fmt.Errorf("load balancer %q vanished while being reconciled", name)
		}
	}
	if err := p.reconcileL4Attrs(ctx, svc, name, spec, cur[0]); err != nil {
		return "", err
	}
	byPort := map[portPair]nifcloud.LoadBalancerDescription{}
	for _, d := range cur {
		l := d.Listener()
		byPort[portPair{l.LoadBalancerPort, l.InstancePort}] = d
	}
	for _, ps := range spec.Ports {
		d, ok := byPort[portPair{ps.Port, ps.InstancePort}]
		if !ok {
			return "", fmt.Errorf("load balancer %q lacks listener %d->%d after reconcile", name, ps.Port, ps.InstancePort)
		}
		if err := p.reconcileL4Listener(ctx, name, spec, ps, d, backends); err != nil {
			return "", err
		}
	}
	log.V(4).Info("L4 load balancer in sync", "vip", cur[0].DNSName, "backends", len(backends))
	return cur[0].DNSName, nil
}

func l4Listener(spec *lbSpec, ps portSpec) nifcloud.Listener {
	return nifcloud.Listener{Protocol: protocolTCP, LoadBalancerPort: ps.Port, InstancePort: ps.InstancePort, BalancingType: spec.BalancingType}
}

// createL4 creates the load balancer with its first listener and adds the
// others (NIFCLOUD creates with one listener).
func (p *Provider) createL4(ctx context.Context, name string, spec *lbSpec) error {
	klog.FromContext(ctx).V(2).Info("Creating L4 load balancer", "ports", len(spec.Ports))
	_, err := p.api.CreateLoadBalancer(ctx, &nifcloud.CreateLoadBalancerInput{
		LoadBalancerName: name,
		Listeners:        []nifcloud.Listener{l4Listener(spec, spec.Ports[0])},
		AccountingType:   spec.AccountingType,
		NetworkVolume:    spec.NetworkVolume,
		PolicyType:       spec.PolicyType,
	})
	if err != nil {
		return fmt.Errorf("creating load balancer %q: %w", name, err)
	}
	return p.addL4Ports(ctx, name, spec, spec.Ports[1:])
}

func (p *Provider) addL4Ports(ctx context.Context, name string, spec *lbSpec, ports []portSpec) error {
	if len(ports) == 0 {
		return nil
	}
	var ls []nifcloud.Listener
	for _, ps := range ports {
		ls = append(ls, l4Listener(spec, ps))
	}
	klog.FromContext(ctx).V(2).Info("Adding load balancer listeners", "count", len(ls))
	if _, err := p.api.RegisterPortWithLoadBalancer(ctx, &nifcloud.RegisterPortWithLoadBalancerInput{LoadBalancerName: name, Listeners: ls}); err != nil {
		return fmt.Errorf("adding listeners to load balancer %q: %w", name, err)
	}
	return nil
}

// reconcileL4Ports moves, adds and removes listeners. Removal comes last
// so that the load balancer (and its VIP) never loses its last listener.
func (p *Provider) reconcileL4Ports(ctx context.Context, name string, spec *lbSpec, cur []nifcloud.LoadBalancerDescription) (bool, error) {
	var have []portPair
	regs := map[portPair][]nifcloud.LBInstance{}
	for _, d := range cur {
		l := d.Listener()
		k := portPair{l.LoadBalancerPort, l.InstancePort}
		have = append(have, k)
		regs[k] = d.Instances
	}
	plan := planPorts(spec.Ports, have)
	if plan.empty() {
		return false, nil
	}
	log := klog.FromContext(ctx)
	for _, m := range plan.Moves {
		log.V(2).Info("Moving load balancer listener to a new instance port", "port", m.From.Port, "from", m.From.InstancePort, "to", m.To.InstancePort)
		_, err := p.api.UpdateLoadBalancer(ctx, &nifcloud.UpdateLoadBalancerInput{
			LoadBalancerName: name,
			ListenerUpdate: &nifcloud.ListenerUpdate{LoadBalancerPort: m.From.Port, InstancePort: m.From.InstancePort,
				Listener: nifcloud.Listener{InstancePort: m.To.InstancePort}},
		})
		if err != nil {
			return true, fmt.Errorf("moving listener %d of load balancer %q to instance port %d: %w", m.From.Port, name, m.To.InstancePort, err)
		}
	}
	if err := p.addL4Ports(ctx, name, spec, plan.Add); err != nil {
		return true, err
	}
	for _, r := range plan.Remove {
		if err := p.deleteL4Listener(ctx, name, r, registeredIDs(regs[r])); err != nil {
			return true, err
		}
	}
	return true, nil
}

// deleteL4Listener deregisters the listener's instances (NIFCLOUD refuses
// to delete a listener that has some) and deletes it. Absence is success.
func (p *Provider) deleteL4Listener(ctx context.Context, name string, k portPair, registered []string) error {
	key := nifcloud.ListenerKey{LoadBalancerName: name, LoadBalancerPort: k.Port, InstancePort: k.InstancePort}
	klog.FromContext(ctx).V(2).Info("Deleting load balancer listener", "port", k.Port, "instancePort", k.InstancePort)
	if len(registered) > 0 {
		_, err := p.api.DeregisterInstancesFromLoadBalancer(ctx, &nifcloud.LoadBalancerInstancesInput{ListenerKey: key, InstanceIDs: registered})
		if err != nil && !nifcloud.IsNotFound(err) {
			return fmt.Errorf("deregistering instances from listener %d->%d of load balancer %q: %w", k.Port, k.InstancePort, name, err)
		}
	}
	if _, err := p.api.DeleteLoadBalancer(ctx, &key); err != nil && !nifcloud.IsNotFound(err) {
		return fmt.Errorf("deleting listener %d->%d of load balancer %q: %w", k.Port, k.InstancePort, name, err)
	}
	return nil
}

// reconcileL4Attrs updates network volume and accounting type when
// annotated; the policy type cannot change in place (Warning event).
func (p *Provider) reconcileL4Attrs(ctx context.Context, svc *v1.Service, name string, spec *lbSpec, d nifcloud.LoadBalancerDescription) error {
	in := &nifcloud.UpdateLoadBalancerInput{LoadBalancerName: name}
	if spec.NetworkVolume != 0 && spec.NetworkVolume != d.NetworkVolume {
		in.NetworkVolumeUpdate = spec.NetworkVolume
	}
	if spec.AccountingType != "" && spec.AccountingType != d.AccountingType {
		in.AccountingTypeUpdate = spec.AccountingType
	}
	if in.NetworkVolumeUpdate != 0 || in.AccountingTypeUpdate != "" {
		klog.FromContext(ctx).V(2).Info("Updating load balancer", "networkVolume", in.NetworkVolumeUpdate, "accountingType", in.AccountingTypeUpdate)
		if _, err := p.api.UpdateLoadBalancer(ctx, in); err != nil {
			return fmt.Errorf("updating network volume/accounting type of load balancer %q: %w", name, err)
		}
	}
	if spec.PolicyType != "" && d.PolicyType != "" && spec.PolicyType != d.PolicyType {
		p.warn(svc, ReasonUnsupportedChange, "%s changed from %q to %q: NIFCLOUD cannot change the policy type of an existing load balancer; recreate the Service to apply it",
			AnnotationPolicyType, d.PolicyType, spec.PolicyType)
	}
	return nil
}

// reconcileL4Listener brings one listener's balancing type, health check,
// source filter and registered instances to the desired state.
func (p *Provider) reconcileL4Listener(ctx context.Context, name string, spec *lbSpec, ps portSpec, d nifcloud.LoadBalancerDescription, backends []*nifcloud.Instance) error {
	log := klog.FromContext(ctx).WithValues("port", ps.Port, "instancePort", ps.InstancePort)
	key := nifcloud.ListenerKey{LoadBalancerName: name, LoadBalancerPort: ps.Port, InstancePort: ps.InstancePort}
	where := fmt.Sprintf("listener %d->%d of load balancer %q", ps.Port, ps.InstancePort, name)

	if bt := d.Listener().BalancingType; bt != spec.BalancingType {
		log.V(2).Info("Updating balancing type", "from", bt, "to", spec.BalancingType)
		_, err := p.api.UpdateLoadBalancer(ctx, &nifcloud.UpdateLoadBalancerInput{
			LoadBalancerName: name,
			ListenerUpdate: &nifcloud.ListenerUpdate{LoadBalancerPort: ps.Port, InstancePort: ps.InstancePort,
				Listener: nifcloud.Listener{BalancingType: spec.BalancingType}},
		})
		if err != nil {
			return fmt.Errorf("updating balancing type of %s: %w", where, err)
		}
	}

	if hc, ok := healthCheckChange(spec, ps, d.HealthCheck.HealthCheck); ok {
		log.V(2).Info("Configuring health check", "target", hc.Target, "interval", hc.Interval, "unhealthyThreshold", hc.UnhealthyThreshold)
		if _, err := p.api.ConfigureHealthCheck(ctx, &nifcloud.ConfigureHealthCheckInput{ListenerKey: key, HealthCheck: hc}); err != nil {
			return fmt.Errorf("configuring health check of %s: %w", where, err)
		}
	}

	if in, ok := filterChange(key, spec.Filters, d.Filter); ok {
		log.V(2).Info("Updating source filter", "entries", len(in.IPAddresses))
		if _, err := p.api.SetFilterForLoadBalancer(ctx, in); err != nil {
			return fmt.Errorf("updating source filter of %s: %w", where, err)
		}
	}

	add, remove := diffInstances(backends, d.Instances)
	if len(add) > 0 {
		log.V(2).Info("Registering instances", "instances", add)
		if _, err := p.api.RegisterInstancesWithLoadBalancer(ctx, &nifcloud.LoadBalancerInstancesInput{ListenerKey: key, InstanceIDs: add}); err != nil {
			return fmt.Errorf("registering instances %v with %s: %w", add, where, err)
		}
	}
	if len(remove) > 0 {
		log.V(2).Info("Deregistering instances", "instances", remove)
		_, err := p.api.DeregisterInstancesFromLoadBalancer(ctx, &nifcloud.LoadBalancerInstancesInput{ListenerKey: key, InstanceIDs: remove})
		if err != nil && !nifcloud.IsNotFound(err) {
			return fmt.Errorf("deregistering instances %v from %s: %w", remove, where, err)
		}
	}
	return nil
}

// healthCheckChange returns the health check to configure when the
// described one differs from the desired one.
func healthCheckChange(spec *lbSpec, ps portSpec, cur nifcloud.HealthCheck) (nifcloud.HealthCheck, bool) {
	want := nifcloud.HealthCheck{
		Target:             spec.HealthCheck.target(ps.InstancePort),
		Interval:           spec.HealthCheck.Interval,
		UnhealthyThreshold: spec.HealthCheck.UnhealthyThreshold,
	}
	same := sameTarget(want.Target, cur.Target) && want.Interval == cur.Interval && want.UnhealthyThreshold == cur.UnhealthyThreshold
	return want, !same
}

// filterChange returns the SetFilterForLoadBalancer call turning the
// described filter into an allow filter of want (empty: allow all).
func filterChange(key nifcloud.ListenerKey, want []string, cur nifcloud.LoadBalancerFilter) (*nifcloud.SetFilterForLoadBalancerInput, bool) {
	var have []string
	for _, ip := range cur.IPAddresses {
		if ip != nifcloud.FilterAnyAddress && ip != "" {
			have = append(have, ip)
		}
	}
	add, remove := diffSet(want, have)
	typeOK := cur.FilterType == "" || cur.FilterType == nifcloud.FilterTypeAllow
	if len(add) == 0 && len(remove) == 0 && typeOK {
		return nil, false
	}
	in := &nifcloud.SetFilterForLoadBalancerInput{ListenerKey: key, FilterType: nifcloud.FilterTypeAllow}
	for _, ip := range remove {
		in.IPAddresses = append(in.IPAddresses, nifcloud.IPAddressFilter{IPAddress: ip, AddOnFilter: false})
	}
	for _, ip := range add {
		in.IPAddresses = append(in.IPAddresses, nifcloud.IPAddressFilter{IPAddress: ip, AddOnFilter: true})
	}
	return in, true
}

// deleteL4 deletes every listener of the L4 load balancer (the last one
// takes the load balancer with it). It reports whether one existed.
func (p *Provider) deleteL4(ctx context.Context, name string) (bool, error) {
	cur, err := p.describeL4(ctx, name)
	if err != nil || len(cur) == 0 {
		return false, err
	}
	klog.FromContext(ctx).V(2).Info("Deleting L4 load balancer", "listeners", len(cur))
	for _, d := range cur {
		l := d.Listener()
		if err := p.deleteL4Listener(ctx, name, portPair{l.LoadBalancerPort, l.InstancePort}, registeredIDs(d.Instances)); err != nil {
			return true, err
		}
	}
	return true, nil
}
