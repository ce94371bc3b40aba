package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// privileged is the only container allowed privilege: the node plugin,
// which formats and mounts.
const privileged = "kumo-csi-node/csi-driver"

func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s: %v", key(u), err)
	}
	return out
}

// podSpecs returns the pod templates of the workloads, keyed by name.
func podSpecs(t *testing.T, objs objects) map[string]corev1.PodSpec {
	out := map[string]corev1.PodSpec{}
	for _, u := range objs.ofKind("DaemonSet") {
		out[u.GetName()] = convert[appsv1.DaemonSet](t, u).Spec.Template.Spec
	}
	for _, u := range objs.ofKind("Deployment") {
		out[u.GetName()] = convert[appsv1.Deployment](t, u).Spec.Template.Spec
	}
	return out
}

// TestPodSecurity: seccomp RuntimeDefault, read-only root filesystems, no
// privilege escalation except the node plugin, memory limits, and a
// ServiceAccount of the rendering for every pod.
func TestPodSecurity(t *testing.T) {
	for _, c := range components {
		for _, cloud := range clouds {
			t.Run(c.name+"/"+cloud, func(t *testing.T) {
				objs := renderKustomize(t, "deploy/"+c.overlay+"/overlays/"+cloud)
				specs := podSpecs(t, objs)
				if len(specs) == 0 {
					t.Fatal("no workloads rendered")
				}
				for name, spec := range specs {
					sc := spec.SecurityContext
					if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
						t.Errorf("%s: pod seccompProfile must be RuntimeDefault", name)
					}
					if _, ok := objs["v1/ServiceAccount/kube-system/"+spec.ServiceAccountName]; !ok || spec.ServiceAccountName == "" {
						t.Errorf("%s: serviceAccountName %q is not rendered", name, spec.ServiceAccountName)
					}
					for _, ctr := range spec.Containers {
						id := name + "/" + ctr.Name
						s := ctr.SecurityContext
						if s == nil || s.ReadOnlyRootFilesystem == nil || !*s.ReadOnlyRootFilesystem {
							t.Errorf("%s: readOnlyRootFilesystem must be true", id)
						}
						if ctr.Resources.Limits.Memory().IsZero() {
							t.Errorf("%s: no memory limit", id)
						}
						isPriv := s != nil && s.Privileged != nil && *s.Privileged
						if id == privileged {
							if !isPriv {
								t.Errorf("%s: the node plugin must be privileged to mount", id)
							}
							continue
						}
						if isPriv || s == nil || s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation {
							t.Errorf("%s: must not be privileged and must set allowPrivilegeEscalation=false", id)
						}
						if s == nil || s.Capabilities == nil || !slices.Contains(s.Capabilities.Drop, "ALL") {
							t.Errorf("%s: must drop ALL capabilities", id)
						}
					}
					// Pods that never run privileged run as non-root.
					if name != "kumo-csi-node" && (sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
						t.Errorf("%s: runAsNonRoot must be true", name)
					}
				}
			})
		}
	}
}

// TestRBACLeastPrivilege: no wildcards, no Secrets, node deletion only for
// the lifecycle controller, and every binding points at rendered objects.
func TestRBACLeastPrivilege(t *testing.T) {
	for _, c := range components {
		for _, cloud := range clouds {
			t.Run(c.name+"/"+cloud, func(t *testing.T) {
				objs := renderKustomize(t, "deploy/"+c.overlay+"/overlays/"+cloud)
				var rules []struct {
					role string
					rule rbacv1.PolicyRule
				}
				for _, u := range objs.ofKind("ClusterRole") {
					for _, r := range convert[rbacv1.ClusterRole](t, u).Rules {
						rules = append(rules, struct {
							role string
							rule rbacv1.PolicyRule
						}{u.GetName(), r})
					}
				}
				for _, u := range objs.ofKind("Role") {
					for _, r := range convert[rbacv1.Role](t, u).Rules {
						rules = append(rules, struct {
							role string
							rule rbacv1.PolicyRule
						}{u.GetName(), r})
					}
				}
				if len(rules) == 0 {
					t.Fatal("no RBAC rules rendered")
				}
				for _, r := range rules {
					all := append(append(append([]string{}, r.rule.Verbs...), r.rule.Resources...), r.rule.APIGroups...)
					if slices.Contains(all, "*") {
						t.Errorf("%s: wildcard in %+v", r.role, r.rule)
					}
					if slices.Contains(r.rule.Resources, "secrets") {
						t.Errorf("%s: grants access to secrets", r.role)
					}
					if slices.Contains(r.rule.Resources, "nodes") && slices.Contains(r.rule.Verbs, "delete") && r.role != "kumo:cloud-node-lifecycle-controller" {
						t.Errorf("%s: may delete nodes", r.role)
					}
				}
				checkBindings(t, objs)
			})
		}
	}
}

func checkBindings(t *testing.T, objs objects) {
	t.Helper()
	type binding struct {
		name     string
		roleRef  rbacv1.RoleRef
		subjects []rbacv1.Subject
		ns       string
	}
	var bs []binding
	for _, u := range objs.ofKind("ClusterRoleBinding") {
		b := convert[rbacv1.ClusterRoleBinding](t, u)
		bs = append(bs, binding{b.Name, b.RoleRef, b.Subjects, ""})
	}
	for _, u := range objs.ofKind("RoleBinding") {
		b := convert[rbacv1.RoleBinding](t, u)
		bs = append(bs, binding{b.Name, b.RoleRef, b.Subjects, b.Namespace})
	}
	for _, b := range bs {
		// Bootstrap roles of the API server are not ours to render.
		if strings.HasPrefix(b.roleRef.Name, "kumo:") {
			k := "rbac.authorization.k8s.io/v1/" + b.roleRef.Kind + "/" + b.ns + "/" + b.roleRef.Name
			if b.roleRef.Kind == "ClusterRole" {
				k = "rbac.authorization.k8s.io/v1/ClusterRole//" + b.roleRef.Name
			}
			if _, ok := objs[k]; !ok {
				t.Errorf("binding %s: role %s is not rendered", b.name, k)
			}
		}
		for _, s := range b.subjects {
			if s.Kind != rbacv1.ServiceAccountKind {
				t.Errorf("binding %s: subject %s %s is not a ServiceAccount", b.name, s.Kind, s.Name)
				continue
			}
			if _, ok := objs["v1/ServiceAccount/"+s.Namespace+"/"+s.Name]; !ok {
				t.Errorf("binding %s: ServiceAccount %s/%s is not rendered", b.name, s.Namespace, s.Name)
			}
		}
	}
}

// TestCCMDeployment: control-plane placement, taints, flags, and one
// ServiceAccount per client name the command gives its controllers.
func TestCCMDeployment(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd", "cloud-controller-manager", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	clientNames := regexp.MustCompile(`:\s*"(kumo-[a-z-]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(clientNames) < 3 {
		t.Fatalf("found %d controller client names in cmd/cloud-controller-manager/main.go; the parser is out of date", len(clientNames))
	}
	for _, cloud := range clouds {
		t.Run(cloud, func(t *testing.T) {
			objs := renderKustomize(t, "deploy/ccm/overlays/"+cloud)
			for _, m := range clientNames {
				if _, ok := objs["v1/ServiceAccount/kube-system/"+m[1]]; !ok {
					t.Errorf("no ServiceAccount for controller client %q (--use-service-account-credentials)", m[1])
				}
			}
			// The provider's own event recorder gets a client named after
			// its event component, i.e. a ServiceAccount of that name.
			prov, err := os.ReadFile(filepath.Join(repoRoot(t), "pkg", "ccm", cloud, "provider.go"))
			if err != nil {
				t.Fatal(err)
			}
			ev := regexp.MustCompile(`eventComponent = "([a-z-]+)"`).FindStringSubmatch(string(prov))
			if ev == nil {
				t.Fatalf("pkg/ccm/%s/provider.go: no eventComponent; the parser is out of date", cloud)
			}
			if _, ok := objs["v1/ServiceAccount/kube-system/"+ev[1]]; !ok {
				t.Errorf("no ServiceAccount for the provider's event client %q", ev[1])
			}
			spec := podSpecs(t, objs)["kumo-cloud-controller-manager"]
			args := spec.Containers[0].Args
			for _, want := range []string{"--cloud-provider=" + cloud, "--leader-elect=true", "--use-service-account-credentials=true", "--secure-port=10258"} {
				if !slices.Contains(args, want) {
					t.Errorf("args %v lack %s", args, want)
				}
			}
			taints := map[string]bool{}
			for _, tol := range spec.Tolerations {
				taints[tol.Key] = true
			}
			for _, k := range []string{"node.cloudprovider.kubernetes.io/uninitialized", "node-role.kubernetes.io/control-plane"} {
				if !taints[k] {
					t.Errorf("no toleration for %s", k)
				}
			}
			if _, ok := spec.NodeSelector["node-role.kubernetes.io/control-plane"]; !ok {
				t.Errorf("nodeSelector %v does not pick control-plane nodes", spec.NodeSelector)
			}
		})
	}
}

// TestCSIDeployment: drop-in driver names, sidecar flags, registration
// path, and only flags cmd/csi-driver defines.
func TestCSIDeployment(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd", "csi-driver", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{"v": true} // klog
	for _, m := range regexp.MustCompile(`fs\.\w+Var\(&f\.\w+, "([a-z-]+)"`).FindAllStringSubmatch(string(src), -1) {
		flags[m[1]] = true
	}
	if len(flags) < 10 {
		t.Fatalf("found %d flags in cmd/csi-driver/main.go; the parser is out of date", len(flags))
	}
	for _, cloud := range clouds {
		t.Run(cloud, func(t *testing.T) {
			prof, ok := profile.ForName(cloud)
			if !ok {
				t.Fatalf("no CSI profile %q", cloud)
			}
			driver := prof.DriverName()
			objs := renderKustomize(t, "deploy/csi/overlays/"+cloud)
			if _, ok := objs["storage.k8s.io/v1/CSIDriver//"+driver]; !ok {
				t.Errorf("no CSIDriver %s; have %v", driver, objs.keys())
			}
			for _, u := range objs.ofKind("StorageClass") {
				if sc := convert[storagev1.StorageClass](t, u); sc.Provisioner != driver {
					t.Errorf("StorageClass %s: provisioner %s, want %s", sc.Name, sc.Provisioner, driver)
				}
			}
			specs := podSpecs(t, objs)
			for name, spec := range specs {
				for _, ctr := range spec.Containers {
					if ctr.Name != "csi-driver" {
						continue
					}
					if !slices.Contains(ctr.Args, "--cloud="+cloud) {
						t.Errorf("%s: args %v lack --cloud=%s", name, ctr.Args, cloud)
					}
					for _, a := range ctr.Args {
						f := strings.SplitN(strings.TrimPrefix(a, "--"), "=", 2)[0]
						if !flags[f] {
							t.Errorf("%s: %s is not a cmd/csi-driver flag", name, a)
						}
					}
				}
			}
			sidecarArgs := map[string][]string{}
			for _, ctr := range specs["kumo-csi-controller"].Containers {
				sidecarArgs[ctr.Name] = ctr.Args
			}
			for _, want := range []string{"--extra-create-metadata", "--leader-election=true"} {
				if !slices.Contains(sidecarArgs["csi-provisioner"], want) {
					t.Errorf("csi-provisioner args %v lack %s", sidecarArgs["csi-provisioner"], want)
				}
			}
			// Topology is GA in external-provisioner v6; its gate is not passed.
			for _, a := range sidecarArgs["csi-provisioner"] {
				if strings.HasPrefix(a, "--feature-gates=") && strings.Contains(a, "Topology") {
					t.Errorf("csi-provisioner passes %s (Topology is GA in v6)", a)
				}
			}
			for _, sc := range []string{"csi-attacher", "csi-resizer", "liveness-probe"} {
				if sidecarArgs[sc] == nil {
					t.Errorf("controller lacks %s", sc)
				}
			}
			// Only a cloud with snapshots may run the snapshotter: it exits
			// when the driver lacks CREATE_DELETE_SNAPSHOT.
			if _, has := sidecarArgs["csi-snapshotter"]; has != prof.Features().Snapshots {
				t.Errorf("csi-snapshotter present=%v, snapshots supported=%v", has, prof.Features().Snapshots)
			}
			node := specs["kumo-csi-node"]
			wantPath := "/var/lib/kubelet/plugins/" + driver
			for _, ctr := range node.Containers {
				if ctr.Name == "node-driver-registrar" && !slices.Contains(ctr.Args, "--kubelet-registration-path="+wantPath+"/csi.sock") {
					t.Errorf("registrar args %v do not register %s/csi.sock", ctr.Args, wantPath)
				}
			}
			for _, v := range node.Volumes {
				if v.Name == "plugin-dir" && (v.HostPath == nil || v.HostPath.Path != wantPath) {
					t.Errorf("plugin-dir %+v, want hostPath %s", v.VolumeSource, wantPath)
				}
			}
		})
	}
}
