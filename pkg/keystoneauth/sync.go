package keystoneauth

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"
)

// Data types the syncer can copy from Keystone.
const (
	SyncProjects        = "projects"
	SyncRoleAssignments = "role_assignments"
)

// SyncConfig is k8s-keystone-auth's sync configuration (YAML): each
// authenticated project gets a namespace, and each of the user's roles
// there a RoleBinding "<user-id>_<role>" to the ClusterRole of that name.
type SyncConfig struct {
	DataTypes []string `json:"data-types-to-sync"`
	// NamespaceFormat may use %i (project ID, required), %n (project name)
	// and %d (the user's domain ID); default "%i".
	NamespaceFormat      string   `json:"namespace-format"`
	ProjectBlacklist     []string `json:"projects-blacklist"`
	ProjectNameBlacklist []string `json:"projects-name-blacklist"`
}

// LoadSyncConfig reads and checks a sync configuration file.
func LoadSyncConfig(path string) (*SyncConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sync-config-file: %w", err)
	}
	return ParseSyncConfig(data)
}

// ParseSyncConfig parses and checks a sync configuration.
func ParseSyncConfig(data []byte) (*SyncConfig, error) {
	c := &SyncConfig{NamespaceFormat: "%i"}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, fmt.Errorf("sync config: %w", err)
	}
	for _, dt := range c.DataTypes {
		if dt != SyncProjects && dt != SyncRoleAssignments {
			return nil, fmt.Errorf("sync config: data-types-to-sync %q is not one of %s, %s", dt, SyncProjects, SyncRoleAssignments)
		}
	}
	if !strings.Contains(c.NamespaceFormat, "%i") {
		return nil, fmt.Errorf("sync config: namespace-format %q must contain %%i (the project ID) so namespaces cannot collide", c.NamespaceFormat)
	}
	sample := strings.NewReplacer("%i", "a", "%n", "a", "%d", "a").Replace(c.NamespaceFormat)
	if errs := validation.IsDNS1123Label(sample); len(errs) > 0 {
		return nil, fmt.Errorf("sync config: namespace-format %q does not make a namespace name: %s", c.NamespaceFormat, strings.Join(errs, "; "))
	}
	return c, nil
}

// Syncer applies a SyncConfig after authentications.
type Syncer struct {
	Config *SyncConfig
	Client kubernetes.Interface
}

// namespace is the identity's namespace name; a name the format makes
// invalid (too long, upper case in a project name) falls back to the ID.
func (s *Syncer) namespace(id *Identity) string {
	ns := strings.NewReplacer("%i", id.ProjectID, "%n", id.ProjectName, "%d", id.UserDomainID).Replace(s.Config.NamespaceFormat)
	if len(validation.IsDNS1123Label(ns)) > 0 {
		return id.ProjectID
	}
	return ns
}

// Sync creates the project's namespace and makes the user's RoleBindings
// there match its Keystone roles (creating and deleting). An error fails
// the authentication: a RoleBinding that could not be removed would keep
// granting a role Keystone took away. A binding RBAC refuses to create (no
// ClusterRole of that name, or one the webhook may not bind) is skipped
// with a warning instead: it would only have granted more.
func (s *Syncer) Sync(ctx context.Context, id *Identity) error {
	if slices.Contains(s.Config.ProjectBlacklist, id.ProjectID) || slices.Contains(s.Config.ProjectNameBlacklist, id.ProjectName) {
		return nil
	}
	ns := s.namespace(id)
	logger := klog.FromContext(ctx).WithValues("namespace", ns, "user", id.UserName)
	if slices.Contains(s.Config.DataTypes, SyncProjects) {
		_, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
			Labels: map[string]string{"kumo.io/keystone-project-id": id.ProjectID}}}, metav1.CreateOptions{})
		switch {
		case err == nil:
			logger.Info("Created the namespace of a Keystone project", "projectID", id.ProjectID)
		case !apierrors.IsAlreadyExists(err):
			return fmt.Errorf("creating namespace %s for project %s: %w", ns, id.ProjectID, err)
		}
	}
	if slices.Contains(s.Config.DataTypes, SyncRoleAssignments) {
		return s.syncRoleBindings(ctx, logger, ns, id)
	}
	return nil
}

func (s *Syncer) syncRoleBindings(ctx context.Context, logger klog.Logger, ns string, id *Identity) error {
	rbs := s.Client.RbacV1().RoleBindings(ns)
	list, err := rbs.List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing role bindings in %s: %w", ns, err)
	}
	prefix := id.UserID + "_"
	have := map[string]bool{}
	for _, rb := range list.Items {
		role, mine := strings.CutPrefix(rb.Name, prefix)
		if !mine {
			continue // an admin's, or another user's
		}
		if slices.Contains(id.Roles, role) {
			have[role] = true
			continue
		}
		if err := rbs.Delete(ctx, rb.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting role binding %s/%s: %w", ns, rb.Name, err)
		}
		logger.Info("Deleted the role binding of a Keystone role the user lost", "roleBinding", rb.Name)
	}
	for _, role := range id.Roles {
		if have[role] {
			continue
		}
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: prefix + role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: id.UserName}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		}
		_, err := rbs.Create(ctx, rb, metav1.CreateOptions{})
		switch {
		case err == nil:
			logger.Info("Created the role binding of a Keystone role", "roleBinding", rb.Name)
		case apierrors.IsAlreadyExists(err):
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
			logger.Info("WARNING: Keystone role not synced: no ClusterRole of that name, or the webhook may not bind it (list it in the sync roles)",
				"role", role, "roleBinding", rb.Name, "err", err)
		default:
			return fmt.Errorf("creating role binding %s/%s: %w", ns, rb.Name, err)
		}
	}
	return nil
}
