package nifcloud

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// Security group rules for elastic load balancers: NIFCLOUD firewalls
// drop the ELB's traffic to the nodes unless the groups holding the nodes
// allow it. Rules made here carry the description sgRuleTag(name), which
// is how they are found again for updates and removal; identical rules
// without it belong to someone else and are never revoked.

const sgRuleTagPrefix = "kumo:elb:"

func sgRuleTag(name string) string { return sgRuleTagPrefix + name }

// ruleKey identifies one rule with a single CIDR source.
type ruleKey struct {
	proto    string
	from, to int
	inOut    string
	cidr     string
}

func keyOf(perm nifcloud.IPPermission, cidr string) ruleKey {
	to := perm.ToPort
	if to == 0 {
		to = perm.FromPort
	}
	inOut := strings.ToUpper(perm.InOut)
	if inOut == "" {
		inOut = nifcloud.InOutIn
	}
	return ruleKey{proto: strings.ToUpper(perm.IPProtocol), from: perm.FromPort, to: to, inOut: inOut, cidr: strings.TrimSuffix(cidr, "/32")}
}

// elbSources are the addresses the ELB reaches the nodes from: each
// interface's system IPs (or its address when it has none).
func elbSources(d *elbDesc) []string {
	var out []string
	seen := map[string]bool{}
	for _, ni := range d.NetworkInterfaces {
		ips := ni.SystemIPAddresses
		if len(ips) == 0 && ni.IPAddress != "" {
			ips = []string{ni.IPAddress}
		}
		for _, ip := range ips {
			if !seen[ip] {
				seen[ip] = true
				out = append(out, ip)
			}
		}
	}
	return out
}

// elbRules are the IN rules the ELB needs: TCP to every instance port and,
// with ICMP health checks, ICMP, from every ELB source address.
func elbRules(spec *lbSpec, d *elbDesc) []nifcloud.IPPermission {
	var out []nifcloud.IPPermission
	for _, src := range elbSources(d) {
		for _, ps := range spec.Ports {
			out = append(out, nifcloud.IPPermission{IPProtocol: protocolTCP, FromPort: ps.InstancePort, ToPort: ps.InstancePort,
				InOut: nifcloud.InOutIn, CIDRs: []string{src}})
		}
		if spec.HealthCheck.Protocol == "ICMP" {
			out = append(out, nifcloud.IPPermission{IPProtocol: "ICMP", InOut: nifcloud.InOutIn, CIDRs: []string{src}})
		}
	}
	return out
}

// reconcileSecurityGroups makes every group holding a backend allow want
// (tagged for name) and revokes this ELB's rules that are no longer
// wanted, also from groups no longer holding backends.
func (p *Provider) reconcileSecurityGroups(ctx context.Context, name string, want []nifcloud.IPPermission, backends []*nifcloud.Instance) error {
	members := map[string]bool{}
	for _, in := range backends {
		members[in.InstanceID] = true
	}
	return p.syncRules(ctx, name, want, members)
}

// cleanupSecurityGroups revokes every rule made for the ELB name.
func (p *Provider) cleanupSecurityGroups(ctx context.Context, name string) error {
	return p.syncRules(ctx, name, nil, nil)
}

// hasTaggedRules reports whether any security group holds a rule made
// for the ELB name.
func (p *Provider) hasTaggedRules(ctx context.Context, name string) (bool, error) {
	out, err := p.api.DescribeSecurityGroups(ctx, &nifcloud.DescribeSecurityGroupsInput{})
	if err != nil {
		return false, fmt.Errorf("listing security groups: %w", err)
	}
	tag := sgRuleTag(name)
	for _, g := range out.SecurityGroups {
		for _, r := range g.IPPermissions {
			if r.Description == tag {
				return true, nil
			}
		}
	}
	return false, nil
}

func (p *Provider) syncRules(ctx context.Context, name string, want []nifcloud.IPPermission, members map[string]bool) error {
	// Groups are shared by all Services; one change at a time.
	p.sgMu.Lock()
	defer p.sgMu.Unlock()
	out, err := p.api.DescribeSecurityGroups(ctx, &nifcloud.DescribeSecurityGroupsInput{})
	if err != nil {
		return fmt.Errorf("listing security groups: %w", err)
	}
	tag := sgRuleTag(name)
	wantKeys := map[ruleKey]bool{}
	for _, w := range want {
		wantKeys[keyOf(w, w.CIDRs[0])] = true
	}
	for _, g := range out.SecurityGroups {
		relevant := false
		for _, id := range g.InstanceIDs {
			relevant = relevant || members[id]
		}
		existing := map[ruleKey]bool{}
		var remove []nifcloud.IPPermission
		for _, r := range g.IPPermissions {
			for _, cidr := range r.CIDRs {
				k := keyOf(r, cidr)
				existing[k] = true
				if r.Description == tag && (!relevant || !wantKeys[k]) {
					one := r
					one.CIDRs, one.GroupNames = []string{cidr}, nil
					remove = append(remove, one)
				}
			}
		}
		var add []nifcloud.IPPermission
		if relevant {
			for _, w := range want {
				if k := keyOf(w, w.CIDRs[0]); !existing[k] {
					existing[k] = true
					w.Description = tag
					add = append(add, w)
				}
			}
		}
		if err := p.changeGroup(ctx, g, add, remove); err != nil {
			return err
		}
	}
	return nil
}

// changeGroup revokes then authorizes rules in one group, waiting for the
// group to be applied before and after each change.
func (p *Provider) changeGroup(ctx context.Context, g nifcloud.SecurityGroup, add, remove []nifcloud.IPPermission) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	log := klog.FromContext(ctx).WithValues("securityGroup", g.GroupName)
	if g.GroupStatus != nifcloud.SecurityGroupApplied {
		if err := p.waitSG(ctx, g.GroupName); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		log.V(2).Info("Revoking elastic load balancer rules", "rules", len(remove))
		if err := p.applyRules(ctx, g.GroupName, remove, false); err != nil {
			return err
		}
	}
	if len(add) > 0 {
		log.V(2).Info("Authorizing elastic load balancer rules", "rules", len(add))
		if err := p.applyRules(ctx, g.GroupName, add, true); err != nil {
			return err
		}
	}
	return nil
}

// applyRules sends all rules in one call. When that fails because some
// rule is already in the wanted state (a concurrent change), it retries
// rule by rule, ignoring those.
func (p *Provider) applyRules(ctx context.Context, group string, perms []nifcloud.IPPermission, authorize bool) error {
	benign := nifcloud.IsNotFound
	if authorize {
		benign = nifcloud.IsDuplicate
	}
	err := p.ruleCall(ctx, group, perms, authorize)
	if err == nil || !benign(err) {
		return err
	}
	if len(perms) == 1 {
		return nil
	}
	for _, perm := range perms {
		if err := p.ruleCall(ctx, group, []nifcloud.IPPermission{perm}, authorize); err != nil && !benign(err) {
			return err
		}
	}
	return nil
}

// ruleCall authorizes or revokes rules and waits for the group to apply
// them. API errors are returned unwrapped-checkable (errors.As works).
func (p *Provider) ruleCall(ctx context.Context, group string, perms []nifcloud.IPPermission, authorize bool) error {
	in := &nifcloud.SecurityGroupIngressInput{GroupName: group, IPPermissions: perms}
	var err error
	verb := "revoking"
	if authorize {
		verb = "authorizing"
		_, err = p.api.AuthorizeSecurityGroupIngress(ctx, in)
	} else {
		_, err = p.api.RevokeSecurityGroupIngress(ctx, in)
	}
	if err != nil {
		return fmt.Errorf("%s %d rules in security group %q: %w", verb, len(perms), group, err)
	}
	return p.waitSG(ctx, group)
}
