package nifcloud

import (
	"context"
	"fmt"
	"strconv"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

type elbDesc = nifcloud.ElasticLoadBalancerDescription

// describeELB returns the elastic load balancer, nil when it does not exist.
func (p *Provider) describeELB(ctx context.Context, name string) (*elbDesc, error) {
	out, err := p.api.NiftyDescribeElasticLoadBalancers(ctx, &nifcloud.DescribeElasticLoadBalancersInput{Names: []string{name}})
	if nifcloud.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing elastic load balancer %q: %w", name, err)
	}
	for i := range out.ElasticLoadBalancers {
		if d := &out.ElasticLoadBalancers[i]; d.ElasticLoadBalancerName == name {
			return d, nil
		}
	}
	return nil, nil
}

// elbStep runs one change and waits for the ELB to be available again,
// returning its fresh description.
func (p *Provider) elbStep(ctx context.Context, name, what string, call func() error) (*elbDesc, error) {
	klog.FromContext(ctx).V(2).Info("Changing elastic load balancer", "change", what)
	if err := call(); err != nil {
		return nil, fmt.Errorf("%s of elastic load balancer %q: %w", what, name, err)
	}
	return p.waitELB(ctx, name)
}

func elbKey(name string, port, instancePort int) nifcloud.ELBListenerKey {
	return nifcloud.ELBListenerKey{ElasticLoadBalancerName: name, ElasticLoadBalancerPort: port, InstancePort: instancePort, Protocol: protocolTCP}
}

func elbListener(spec *lbSpec, ps portSpec) nifcloud.ELBListener {
	return nifcloud.ELBListener{Protocol: protocolTCP, ElasticLoadBalancerPort: ps.Port, InstancePort: ps.InstancePort, BalancingType: spec.BalancingType}
}

// ensureELB creates or reconciles an elastic load balancer plus its
// security group rules and returns its VIP.
func (p *Provider) ensureELB(ctx context.Context, svc *v1.Service, name string, spec *lbSpec, backends []*nifcloud.Instance, mayCreate bool) (string, error) {
	cur, err := p.describeELB(ctx, name)
	if err != nil {
		return "", err
	}
	if err := p.checkPrivateLANs(ctx, svc, spec, cur); err != nil {
		return "", err
	}
	switch {
	case cur == nil && !mayCreate:
		return "", errNotCreatedOnUpdate(name)
	case cur == nil:
		cur, err = p.createELB(ctx, name, spec, backends)
	case cur.State != nifcloud.ELBStateAvailable:
		cur, err = p.waitELB(ctx, name)
	}
	if err != nil {
		return "", err
	}
	if cur, err = p.reconcileELBPorts(ctx, name, spec, cur); err != nil {
		return "", err
	}
	if cur, err = p.reconcileELBAttrs(ctx, svc, name, spec, cur); err != nil {
		return "", err
	}
	for _, ps := range spec.Ports {
		if cur, err = p.reconcileELBListener(ctx, name, spec, ps, cur, backends); err != nil {
			return "", err
		}
	}
	if err := p.reconcileSecurityGroups(ctx, name, elbRules(spec, cur), backends); err != nil {
		return "", err
	}
	if cur.DNSName == "" {
		return "", fmt.Errorf("elastic load balancer %q is available but has no VIP yet", name)
	}
	return cur.DNSName, nil
}

// createELB creates the ELB with its first listener in the first
// backend's zone, waits for it and adds the other listeners.
func (p *Provider) createELB(ctx context.Context, name string, spec *lbSpec, backends []*nifcloud.Instance) (*elbDesc, error) {
	in := &nifcloud.CreateElasticLoadBalancerInput{
		ElasticLoadBalancerName: name,
		Listeners:               []nifcloud.ELBListener{elbListener(spec, spec.Ports[0])},
		AccountingType:          spec.AccountingType,
		NetworkVolume:           spec.NetworkVolume,
	}
	if len(backends) > 0 && backends[0].Placement.AvailabilityZone != "" {
		in.AvailabilityZones = []string{backends[0].Placement.AvailabilityZone}
	}
	for i, n := range spec.NICs {
		in.NetworkInterfaces = append(in.NetworkInterfaces, nifcloud.ELBNetworkInterface{
			NetworkID: n.NetworkID, IPAddress: n.IPAddress, SystemIPAddresses: n.SystemIPAddresses, IsVipNetwork: i+1 == spec.VIPNetwork,
		})
	}
	cur, err := p.elbStep(ctx, name, "creating", func() error {
		_, err := p.api.NiftyCreateElasticLoadBalancer(ctx, in)
		return err
	})
	if err != nil || len(spec.Ports) == 1 {
		return cur, err
	}
	return p.addELBPorts(ctx, name, spec, spec.Ports[1:])
}

func (p *Provider) addELBPorts(ctx context.Context, name string, spec *lbSpec, ports []portSpec) (*elbDesc, error) {
	in := &nifcloud.RegisterPortWithElasticLoadBalancerInput{ElasticLoadBalancerName: name}
	for _, ps := range ports {
		in.Listeners = append(in.Listeners, elbListener(spec, ps))
	}
	return p.elbStep(ctx, name, "adding listeners", func() error {
		_, err := p.api.NiftyRegisterPortWithElasticLoadBalancer(ctx, in)
		return err
	})
}

// reconcileELBPorts moves, adds and then removes listeners.
func (p *Provider) reconcileELBPorts(ctx context.Context, name string, spec *lbSpec, cur *elbDesc) (*elbDesc, error) {
	var have []portPair
	regs := map[portPair][]nifcloud.LBInstance{}
	for _, l := range cur.Listeners {
		k := portPair{l.ElasticLoadBalancerPort, l.InstancePort}
		have = append(have, k)
		regs[k] = l.Instances
	}
	plan := planPorts(spec.Ports, have)
	var err error
	for _, m := range plan.Moves {
		// Ports change in place through listener attributes
		// (KeyOfLoadBalancerAttributesForNiftyModifyElasticLoadBalancerAttributes:
		// elasticLoadBalancerPort, instancePort); NiftyUpdateElasticLoadBalancer
		// cannot touch listeners.
		var attrs []nifcloud.ELBAttribute
		if m.To.Port != m.From.Port {
			attrs = append(attrs, nifcloud.ELBAttribute{Key: nifcloud.ELBAttrElasticLoadBalancerPort, Value: strconv.Itoa(m.To.Port)})
		}
		if m.To.InstancePort != m.From.InstancePort {
			attrs = append(attrs, nifcloud.ELBAttribute{Key: nifcloud.ELBAttrInstancePort, Value: strconv.Itoa(m.To.InstancePort)})
		}
		in := &nifcloud.ModifyElasticLoadBalancerAttributesInput{ELBListenerKey: elbKey(name, m.From.Port, m.From.InstancePort), Attributes: attrs}
		what := fmt.Sprintf("moving listener %d to instance port %d", m.From.Port, m.To.InstancePort)
		if cur, err = p.elbStep(ctx, name, what, func() error { _, err := p.api.NiftyModifyElasticLoadBalancerAttributes(ctx, in); return err }); err != nil {
			return nil, err
		}
	}
	if len(plan.Add) > 0 {
		if cur, err = p.addELBPorts(ctx, name, spec, plan.Add); err != nil {
			return nil, err
		}
	}
	for _, r := range plan.Remove {
		if cur, err = p.deleteELBListener(ctx, name, r, registeredIDs(regs[r]), false); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// deleteELBListener deregisters the listener's instances and deletes it;
// last says it is the ELB's last listener (the ELB goes with it, so there
// is nothing to wait for). Absence is success.
func (p *Provider) deleteELBListener(ctx context.Context, name string, k portPair, registered []string, last bool) (*elbDesc, error) {
	key := elbKey(name, k.Port, k.InstancePort)
	var cur *elbDesc
	var err error
	if len(registered) > 0 {
		what := fmt.Sprintf("deregistering instances from listener %d->%d", k.Port, k.InstancePort)
		cur, err = p.elbStep(ctx, name, what, func() error {
			_, err := p.api.NiftyDeregisterInstancesFromElasticLoadBalancer(ctx, &nifcloud.ElasticLoadBalancerInstancesInput{ELBListenerKey: key, InstanceIDs: registered})
			if nifcloud.IsNotFound(err) {
				return nil
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	klog.FromContext(ctx).V(2).Info("Deleting elastic load balancer listener", "port", k.Port, "instancePort", k.InstancePort, "last", last)
	if _, err := p.api.NiftyDeleteElasticLoadBalancer(ctx, &key); err != nil && !nifcloud.IsNotFound(err) {
		return nil, fmt.Errorf("deleting listener %d->%d of elastic load balancer %q: %w", k.Port, k.InstancePort, name, err)
	}
	if last {
		return cur, nil
	}
	return p.waitELB(ctx, name)
}

// reconcileELBAttrs updates network volume and accounting type when
// annotated, and warns about network interface changes NIFCLOUD cannot
// apply in place.
func (p *Provider) reconcileELBAttrs(ctx context.Context, svc *v1.Service, name string, spec *lbSpec, cur *elbDesc) (*elbDesc, error) {
	in := &nifcloud.UpdateElasticLoadBalancerInput{ElasticLoadBalancerName: name}
	if nv, _ := strconv.Atoi(cur.NetworkVolume); spec.NetworkVolume != 0 && spec.NetworkVolume != nv {
		in.NetworkVolumeUpdate = spec.NetworkVolume
	}
	if spec.AccountingType != "" && spec.AccountingType != cur.AccountingType {
		in.AccountingTypeUpdate = spec.AccountingType
	}
	if problem := nicMismatch(spec, cur); problem != "" {
		p.warn(svc, ReasonUnsupportedChange, "the elastic load balancer's network interfaces (%s, %s, %s) cannot change in place: %s; recreate the Service to apply them",
			AnnotationNIC1NetworkID, AnnotationNIC2NetworkID, AnnotationVIPNetwork, problem)
	}
	if in.NetworkVolumeUpdate == 0 && in.AccountingTypeUpdate == "" {
		return cur, nil
	}
	return p.elbStep(ctx, name, "updating network volume/accounting type", func() error {
		_, err := p.api.NiftyUpdateElasticLoadBalancer(ctx, in)
		return err
	})
}

// nicMismatch describes how the ELB's interfaces differ from the
// annotations, "" when they match.
func nicMismatch(spec *lbSpec, cur *elbDesc) string {
	for i, want := range spec.NICs {
		var got *nifcloud.ELBNetworkInterface
		for j := range cur.NetworkInterfaces {
			if cur.NetworkInterfaces[j].NetworkID == want.NetworkID {
				got = &cur.NetworkInterfaces[j]
			}
		}
		switch {
		case got == nil:
			return fmt.Sprintf("network %s is not attached", want.NetworkID)
		case want.IPAddress != "" && got.IPAddress != want.IPAddress:
			return fmt.Sprintf("network %s has address %s, want %s", want.NetworkID, got.IPAddress, want.IPAddress)
		case got.IsVipNetwork != (i+1 == spec.VIPNetwork):
			return fmt.Sprintf("the VIP is not on network %s as wanted", spec.NICs[spec.VIPNetwork-1].NetworkID)
		}
	}
	if len(cur.NetworkInterfaces) != len(spec.NICs) {
		return fmt.Sprintf("%d network interfaces attached, %d wanted", len(cur.NetworkInterfaces), len(spec.NICs))
	}
	return ""
}

// reconcileELBListener brings one listener's balancing type, health check
// and registered instances to the desired state.
func (p *Provider) reconcileELBListener(ctx context.Context, name string, spec *lbSpec, ps portSpec, cur *elbDesc, backends []*nifcloud.Instance) (*elbDesc, error) {
	var l *nifcloud.ELBListenerDesc
	for i := range cur.Listeners {
		if x := &cur.Listeners[i]; x.ElasticLoadBalancerPort == ps.Port && x.InstancePort == ps.InstancePort {
			l = x
		}
	}
	if l == nil {
		return nil, fmt.Errorf("elastic load balancer %q lacks listener %d->%d after reconcile", name, ps.Port, ps.InstancePort)
	}
	listener := *l // cur is replaced below
	key := elbKey(name, ps.Port, ps.InstancePort)
	var err error
	if listener.BalancingType != spec.BalancingType {
		in := &nifcloud.ModifyElasticLoadBalancerAttributesInput{ELBListenerKey: key,
			Attributes: []nifcloud.ELBAttribute{{Key: nifcloud.ELBAttrBalancingType, Value: strconv.Itoa(spec.BalancingType)}}}
		if cur, err = p.elbStep(ctx, name, fmt.Sprintf("setting balancing type %d on listener %d", spec.BalancingType, ps.Port),
			func() error { _, err := p.api.NiftyModifyElasticLoadBalancerAttributes(ctx, in); return err }); err != nil {
			return nil, err
		}
	}
	cur4 := nifcloud.HealthCheck{Target: listener.HealthCheck.Target, Interval: listener.HealthCheck.Interval, UnhealthyThreshold: listener.HealthCheck.UnhealthyThreshold}
	if hc, ok := healthCheckChange(spec, ps, cur4); ok {
		// An elastic LB health check has only Target, Interval and
		// UnhealthyThreshold (RequestHealthCheckOfNiftyConfigureElasticLoadBalancerHealthCheck).
		in := &nifcloud.ConfigureElasticLoadBalancerHealthCheckInput{ELBListenerKey: key,
			HealthCheck: nifcloud.ELBHealthCheck{Target: hc.Target, Interval: hc.Interval, UnhealthyThreshold: hc.UnhealthyThreshold}}
		if cur, err = p.elbStep(ctx, name, fmt.Sprintf("configuring health check %s of listener %d", hc.Target, ps.Port),
			func() error { _, err := p.api.NiftyConfigureElasticLoadBalancerHealthCheck(ctx, in); return err }); err != nil {
			return nil, err
		}
	}
	add, remove := diffInstances(backends, listener.Instances)
	if len(add) > 0 {
		in := &nifcloud.ElasticLoadBalancerInstancesInput{ELBListenerKey: key, InstanceIDs: add}
		if cur, err = p.elbStep(ctx, name, fmt.Sprintf("registering instances %v with listener %d", add, ps.Port),
			func() error { _, err := p.api.NiftyRegisterInstancesWithElasticLoadBalancer(ctx, in); return err }); err != nil {
			return nil, err
		}
	}
	if len(remove) > 0 {
		in := &nifcloud.ElasticLoadBalancerInstancesInput{ELBListenerKey: key, InstanceIDs: remove}
		if cur, err = p.elbStep(ctx, name, fmt.Sprintf("deregistering instances %v from listener %d", remove, ps.Port),
			func() error { _, err := p.api.NiftyDeregisterInstancesFromElasticLoadBalancer(ctx, in); return err }); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// removeELB revokes the security group rules made for the ELB, then
// deletes it. The rules go first: while the ELB exists GetLoadBalancer
// reports it, so when a revoke fails the service controller comes back
// and this runs again; revoked after the ELB, a revoke failing with an
// error the client does not retry would leave rules nothing comes back
// for. Revoking first cuts the ELB off from the nodes before it goes (and
// for good when the delete then fails): acceptable, it is being removed.
// orphans also revokes rules when there is no ELB; without it an absent
// ELB costs no security group listing (the type-change path of every
// reconcile).
func (p *Provider) removeELB(ctx context.Context, name string, orphans bool) error {
	cur, err := p.describeELB(ctx, name)
	if err != nil || (cur == nil && !orphans) {
		return err
	}
	if err := p.cleanupSecurityGroups(ctx, name); err != nil {
		return err
	}
	if cur == nil {
		return nil
	}
	return p.deleteELB(ctx, name, cur)
}

// deleteELB deletes every listener of the described ELB (the last one
// takes the ELB with it). Security group rules are left to removeELB.
func (p *Provider) deleteELB(ctx context.Context, name string, cur *elbDesc) error {
	klog.FromContext(ctx).V(2).Info("Deleting elastic load balancer", "listeners", len(cur.Listeners))
	if cur.State != nifcloud.ELBStateAvailable {
		var err error
		if cur, err = p.waitELB(ctx, name); err != nil {
			return err
		}
	}
	ls := cur.Listeners
	for i, l := range ls {
		k := portPair{l.ElasticLoadBalancerPort, l.InstancePort}
		if _, err := p.deleteELBListener(ctx, name, k, registeredIDs(l.Instances), i == len(ls)-1); err != nil {
			return err
		}
	}
	return nil
}
