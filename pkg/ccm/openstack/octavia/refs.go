package octavia

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	v1 "k8s.io/api/core/v1"
)

// Objects named by annotations or cloud.conf are looked up (one GET each)
// before the first write of a create, so that a typo costs no load
// balancer and is reported against the key that holds it.

// refError says that an object named by key (an annotation, or the
// cloud.conf key when the value came from there) cannot be used.
type refError struct {
	key, kind, id string
	problem       string // "does not exist", "is not an external network", ...
}

func (e *refError) Error() string {
	return fmt.Sprintf("%s %q given by %s %s", e.kind, e.id, e.key, e.problem)
}

// confKey is the [LoadBalancer] cloud.conf key an annotation defaults
// from; "" when it has none.
func confKey(ann string) string {
	switch ann {
	case AnnFloatingNetworkID:
		return "floating-network-id"
	case AnnFloatingSubnetID:
		return "floating-subnet-id"
	case AnnFloatingSubnet:
		return "floating-subnet"
	case AnnFloatingSubnetTags:
		return "floating-subnet-tags"
	case AnnSubnetID:
		return "subnet-id"
	case AnnMemberSubnetID:
		return "member-subnet-id"
	case AnnNetworkID:
		return "network-id"
	case AnnDefaultTLSContainerRef:
		return "default-tls-container-ref"
	}
	return ""
}

// origin names where the value of ann came from: the annotation itself,
// or its cloud.conf key (the class's, when the Service's class sets it)
// when the Service does not set it.
func (sc *svcConfig) origin(ann string) string {
	if k := sc.classKey(ann); k != "" && !sc.annotated[ann] {
		return k
	}
	if k := confKey(ann); k != "" && !sc.annotated[ann] {
		return "cloud.conf [LoadBalancer] " + k
	}
	return ann
}

// lookupErr turns a failed GET of a referenced object into a refError
// (404) or a wrapped error naming where the ID came from.
func lookupErr(err error, key, kind, id string) error {
	if isStatus(err, http.StatusNotFound) {
		return &refError{key: key, kind: kind, id: id, problem: "does not exist"}
	}
	return fmt.Errorf("get %s %s (%s): %w", kind, id, key, err)
}

// checkRefs verifies, reads only, the objects a load balancer about to be
// created depends on: its VIP port, subnet or network, its member subnet
// and (for a public IPv4 VIP) its floating network and subnet. It records
// the VIP network and the floating target in p for later steps.
func (l *LoadBalancer) checkRefs(ctx context.Context, p *lbPlan) error {
	sc, c := p.sc, l.clients.Network
	switch {
	case p.vip.portID != "":
		port, err := ports.Get(ctx, c, p.vip.portID).Extract()
		if err != nil {
			return lookupErr(err, AnnPortID, "port", p.vip.portID)
		}
		p.vipNetwork = port.NetworkID
	case p.vip.subnetID != "" && p.vip.subnetID == sc.subnetID:
		// A subnet found from a node's port exists: only a configured one
		// needs looking up.
		sub, err := subnets.Get(ctx, c, p.vip.subnetID).Extract()
		if err != nil {
			return lookupErr(err, sc.origin(AnnSubnetID), "subnet", p.vip.subnetID)
		}
		p.vipNetwork = sub.NetworkID
	case p.vip.networkID != "":
		if _, err := networks.Get(ctx, c, p.vip.networkID).Extract(); err != nil {
			return lookupErr(err, sc.origin(AnnNetworkID), "network", p.vip.networkID)
		}
		p.vipNetwork = p.vip.networkID
	}
	if err := l.checkTLS(ctx, sc); err != nil {
		return err
	}
	if sc.memberSubnetID != "" && sc.memberSubnetID != p.vip.subnetID {
		if err := l.checkSubnet(ctx, sc); err != nil {
			return err
		}
	}
	if !sc.internal && sc.family != v1.IPv6Protocol {
		netID, subnetID, err := l.floatingTarget(ctx, sc)
		if err != nil {
			return err
		}
		p.fip = &fipTarget{networkID: netID, subnetID: subnetID}
	}
	return nil
}

// checkSubnet verifies the member subnet.
func (l *LoadBalancer) checkSubnet(ctx context.Context, sc *svcConfig) error {
	if _, err := subnets.Get(ctx, l.clients.Network, sc.memberSubnetID).Extract(); err != nil {
		return lookupErr(err, sc.origin(AnnMemberSubnetID), "subnet", sc.memberSubnetID)
	}
	return nil
}

// checkFloatingNetwork verifies a configured floating network: it must
// exist and be external, or Neutron refuses the floating IP.
func (l *LoadBalancer) checkFloatingNetwork(ctx context.Context, sc *svcConfig) error {
	key := sc.origin(AnnFloatingNetworkID)
	var n struct {
		networks.Network
		external.NetworkExternalExt
	}
	if err := networks.Get(ctx, l.clients.Network, sc.floatingNetworkID).ExtractInto(&n); err != nil {
		return lookupErr(err, key, "network", sc.floatingNetworkID)
	}
	if !n.External {
		return &refError{key: key, kind: "network", id: sc.floatingNetworkID, problem: "is not an external network"}
	}
	return nil
}

// checkFloatingSubnet verifies a configured floating subnet: it must
// exist on the floating network.
func (l *LoadBalancer) checkFloatingSubnet(ctx context.Context, sc *svcConfig, netID string) error {
	key := sc.origin(AnnFloatingSubnetID)
	sub, err := subnets.Get(ctx, l.clients.Network, sc.floatingSubnetID).Extract()
	if err != nil {
		return lookupErr(err, key, "subnet", sc.floatingSubnetID)
	}
	if sub.NetworkID != netID {
		return &refError{key: key, kind: "subnet", id: sc.floatingSubnetID, problem: "is not on floating network " + netID}
	}
	return nil
}

// reportRef records a Warning event for an error about a referenced
// object or a refused share; other errors (cloud trouble) are left to the caller's retries.
func (l *LoadBalancer) reportRef(svc *v1.Service, err error) {
	var re *refError
	var se *shareError
	switch {
	case errors.As(err, &re):
		l.warn(svc, reasonMissingReference, "%s %q given by %s %s", re.kind, re.id, re.key, re.problem)
	case errors.As(err, &se):
		l.warn(svc, reasonShareRefused, "%v", se)
	}
}
