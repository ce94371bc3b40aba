package keystoneauth

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/klog/v2"
)

// SubjectAccessReview API versions (--authorization-webhook-version).
var accessReviewVersions = []string{"authorization.k8s.io/v1", "authorization.k8s.io/v1beta1"}

// Authorizer answers SubjectAccessReviews from the policy in force.
// Requests of users this webhook did not authenticate get no opinion, so
// the next authorizer (RBAC) decides; a Keystone user whom no rule allows
// is denied.
type Authorizer struct {
	Metrics *Metrics
	policy  atomic.Pointer[Policy]
}

// SetPolicy puts a policy in force for the next review.
func (a *Authorizer) SetPolicy(p Policy) {
	a.policy.Store(&p)
	a.Metrics.reload(true, len(p))
}

// HasPolicy tells whether a policy was ever set (readiness).
func (a *Authorizer) HasPolicy() bool { return a.policy.Load() != nil }

// Decide returns the review's status for one request.
func (a *Authorizer) Decide(ctx context.Context, req *Request) authzv1.SubjectAccessReviewStatus {
	logger := klog.FromContext(ctx).WithValues("user", req.User, "verb", req.Verb)
	if req.ResourceRequest {
		logger = logger.WithValues("namespace", req.Namespace, "resource", req.Resource, "subresource", req.Subresource, "apiGroup", req.APIGroup)
	} else {
		logger = logger.WithValues("path", req.Path)
	}
	if !req.keystoneUser() {
		a.Metrics.decision("no_opinion")
		logger.V(4).Info("Not a Keystone user: no opinion")
		return authzv1.SubjectAccessReviewStatus{Reason: "not a Keystone user; no opinion"}
	}
	var p Policy
	if pp := a.policy.Load(); pp != nil {
		p = *pp
	}
	if i, ok := p.Allows(req); ok {
		a.Metrics.decision("allowed")
		logger.V(2).Info("Allowed by Keystone policy", "rule", i)
		return authzv1.SubjectAccessReviewStatus{Allowed: true, Reason: fmt.Sprintf("allowed by keystone policy rule %d", i)}
	}
	a.Metrics.decision("denied")
	logger.V(2).Info("No Keystone policy rule allows the request", "projects", req.projects())
	return authzv1.SubjectAccessReviewStatus{Denied: true, Reason: "no keystone policy rule allows this request"}
}

// serve answers a read SubjectAccessReview.
func (a *Authorizer) serve(ctx context.Context, data []byte, tm typeMeta) (any, error) {
	review, req, err := parseAccessReview(data, tm)
	if err != nil {
		return nil, err
	}
	review.Status = a.Decide(ctx, req)
	return review, nil
}

func parseAccessReview(data []byte, tm typeMeta) (*authzv1.SubjectAccessReview, *Request, error) {
	if tm.Kind != "SubjectAccessReview" {
		return nil, nil, badReview("kind %q: want SubjectAccessReview", tm.Kind)
	}
	if !oneOf(tm.APIVersion, accessReviewVersions) {
		return nil, nil, badReview("apiVersion %q: want one of %v", tm.APIVersion, accessReviewVersions)
	}
	var review authzv1.SubjectAccessReview
	if err := json.Unmarshal(data, &review); err != nil {
		return nil, nil, badReview("SubjectAccessReview: %v", err)
	}
	spec := review.Spec
	if tm.APIVersion == "authorization.k8s.io/v1beta1" {
		// v1beta1 calls the groups "group"
		var beta struct {
			Spec struct {
				Group []string `json:"group"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(data, &beta); err != nil {
			return nil, nil, badReview("SubjectAccessReview: %v", err)
		}
		spec.Groups = beta.Spec.Group
	}
	ra, nra := spec.ResourceAttributes, spec.NonResourceAttributes
	switch {
	case ra == nil && nra == nil:
		return nil, nil, badReview("spec has neither resourceAttributes nor nonResourceAttributes")
	case ra != nil && nra != nil:
		return nil, nil, badReview("spec has both resourceAttributes and nonResourceAttributes")
	case spec.User == "" && len(spec.Groups) == 0:
		return nil, nil, badReview("spec.user and spec.groups are empty")
	}
	req := &Request{User: spec.User, UID: spec.UID, Groups: spec.Groups, Extra: map[string][]string{}}
	for k, v := range spec.Extra {
		req.Extra[k] = v
	}
	if ra != nil {
		if ra.Verb == "" {
			return nil, nil, badReview("spec.resourceAttributes.verb is empty")
		}
		req.ResourceRequest = true
		req.Verb, req.APIGroup, req.Namespace, req.Resource, req.Subresource = ra.Verb, ra.Group, ra.Namespace, ra.Resource, ra.Subresource
	} else {
		if nra.Verb == "" || nra.Path == "" {
			return nil, nil, badReview("spec.nonResourceAttributes needs verb and path")
		}
		req.Verb, req.Path = nra.Verb, nra.Path
	}
	return &review, req, nil
}
