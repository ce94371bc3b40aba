// Package keystoneauth is the Kubernetes webhook for OpenStack Keystone:
// TokenReview authentication of Keystone tokens (validated with the
// webhook's own service credentials, cached until shortly before they
// could have been revoked) and SubjectAccessReview authorization from a
// k8s-keystone-auth compatible policy.
package keystoneauth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
)

// Keys of the user's extra attributes, as k8s-keystone-auth sets them,
// so policies and RBAC written for it keep working.
const (
	ExtraRoles          = "alpha.kubernetes.io/identity/roles"
	ExtraProjectID      = "alpha.kubernetes.io/identity/project/id"
	ExtraProjectName    = "alpha.kubernetes.io/identity/project/name"
	ExtraUserDomainID   = "alpha.kubernetes.io/identity/user/domain/id"
	ExtraUserDomainName = "alpha.kubernetes.io/identity/user/domain/name"
)

// ErrTokenInvalid is Keystone's definite "no": the token is unknown,
// expired or revoked (404 on validation).
var ErrTokenInvalid = errors.New("keystone token is invalid, expired or revoked")

// Identity is what Keystone says about a valid token.
type Identity struct {
	UserID, UserName             string
	UserDomainID, UserDomainName string
	ProjectID, ProjectName       string
	Roles                        []string
	ExpiresAt                    time.Time
}

// check refuses identities Kubernetes must not see: without a project
// (policies and groups are per project) or claiming a system: name,
// which RBAC reserves for cluster components.
func (id *Identity) check() error {
	switch {
	case id.UserName == "" || id.UserID == "":
		return errors.New("keystone token has no user")
	case id.ProjectID == "":
		return errors.New("keystone token is not scoped to a project; log in with a project (OS_PROJECT_NAME or OS_PROJECT_ID)")
	case strings.HasPrefix(id.UserName, "system:"):
		return fmt.Errorf("keystone user name %q has the reserved prefix \"system:\"", id.UserName)
	}
	return nil
}

// UserInfo maps the identity to a Kubernetes user: name and UID from
// Keystone; groups are the project ID, the project name and
// "<project-id>:<role>" per role; extra carries project, domain and roles
// for the authorizer. A project name with the reserved system: prefix is
// left out of the groups.
func (id *Identity) UserInfo() authnv1.UserInfo {
	groups := []string{id.ProjectID}
	if id.ProjectName != "" && id.ProjectName != id.ProjectID && !strings.HasPrefix(id.ProjectName, "system:") {
		groups = append(groups, id.ProjectName)
	}
	roles := append([]string{}, id.Roles...)
	for _, r := range roles {
		groups = append(groups, id.ProjectID+":"+r)
	}
	return authnv1.UserInfo{
		Username: id.UserName,
		UID:      id.UserID,
		Groups:   groups,
		Extra: map[string]authnv1.ExtraValue{
			ExtraRoles:          roles,
			ExtraProjectID:      {id.ProjectID},
			ExtraProjectName:    {id.ProjectName},
			ExtraUserDomainID:   {id.UserDomainID},
			ExtraUserDomainName: {id.UserDomainName},
		},
	}
}
