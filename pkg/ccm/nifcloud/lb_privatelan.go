package nifcloud

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// allowedPrivateLAN is what a private LAN network id annotation must name.
const allowedPrivateLAN = "the network id of an existing private LAN"

// privateLANsToCheck returns the private LAN ids of the elastic LB's
// network interface annotations that must be looked up: all of them when
// the ELB is to be created (cur == nil), otherwise only those not attached
// to it (the annotation changed), so an unchanged Service costs no call.
// The shared networks are built in and never looked up.
func privateLANsToCheck(spec *lbSpec, cur *elbDesc) []string {
	var ids []string
	for _, n := range spec.NICs {
		if n.NetworkID == nifcloud.NetworkCommonGlobal || n.NetworkID == nifcloud.NetworkCommonPrivate {
			continue
		}
		attached := false
		if cur != nil {
			for _, ni := range cur.NetworkInterfaces {
				attached = attached || ni.NetworkID == n.NetworkID
			}
		}
		if !attached {
			ids = append(ids, n.NetworkID)
		}
	}
	return ids
}

// checkPrivateLANs verifies, with one NiftyDescribePrivateLans call, that
// the private LANs the annotations name exist, before any write. A missing
// one is an invalid annotation (Warning event, error); a failed lookup is
// an ordinary error to retry.
func (p *Provider) checkPrivateLANs(ctx context.Context, svc *v1.Service, spec *lbSpec, cur *elbDesc) error {
	ids := privateLANsToCheck(spec, cur)
	if len(ids) == 0 {
		return nil
	}
	klog.FromContext(ctx).V(4).Info("Looking up private LANs", "networkIds", ids)
	out, err := p.api.NiftyDescribePrivateLans(ctx, &nifcloud.DescribePrivateLansInput{NetworkIDs: ids})
	var missing []string
	switch {
	case nifcloud.IsNotFound(err):
		missing = namedIn(err, ids)
	case err != nil:
		return fmt.Errorf("looking up private LANs %v: %w", ids, err)
	default:
		found := map[string]bool{}
		for _, l := range out.PrivateLans {
			found[l.NetworkID] = true
		}
		for _, id := range ids {
			if !found[id] {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var errs []error
	for _, id := range missing {
		errs = append(errs, &AnnotationError{Annotation: nicAnnotation(svc, id), Value: id,
			Allowed: allowedPrivateLAN + fmt.Sprintf(" (%s does not exist)", id)})
	}
	return p.rejectAnnotations(svc, errors.Join(errs...))
}

// namedIn returns the ids a NotFound error's message names; all of them
// when it names none (the API reports one id per error).
func namedIn(err error, ids []string) []string {
	var apiErr *nifcloud.APIError
	if !errors.As(err, &apiErr) || len(ids) == 1 {
		return ids
	}
	var named []string
	for _, id := range ids {
		if strings.Contains(apiErr.Message, "'"+id+"'") {
			named = append(named, id)
		}
	}
	if len(named) == 0 {
		return ids
	}
	return named
}

// nicAnnotation is the network-id annotation of svc that names id.
func nicAnnotation(svc *v1.Service, id string) string {
	for _, k := range []string{AnnotationNIC1NetworkID, AnnotationNIC2NetworkID} {
		if strings.TrimSpace(svc.Annotations[k]) == id {
			return k
		}
	}
	return AnnotationNIC1NetworkID
}
