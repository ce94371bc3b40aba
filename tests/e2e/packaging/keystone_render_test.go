package packaging

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kumo-project/kumo/pkg/keystoneauth"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

const (
	keystoneDir   = "deploy/keystone-auth"
	keystoneSync  = "deploy/keystone-auth/components/sync"
	keystoneChart = "charts/kumo-keystone-auth"
	keystoneDS    = "apps/v1/DaemonSet/kube-system/kumo-keystone-auth"
	keystoneSA    = "kumo-keystone-auth"
)

// keystoneVariants are the kustomize renderings and the chart values that
// must render the same objects.
var keystoneVariants = []struct {
	name       string
	components []string
	values     map[string]any
}{
	{name: "default"},
	{name: "sync", components: []string{keystoneSync}, values: map[string]any{"sync": map[string]any{"enabled": true}}},
}

func renderKeystoneKustomize(t *testing.T, components ...string) objects {
	t.Helper()
	if len(components) == 0 {
		return renderKustomize(t, keystoneDir)
	}
	return renderWithComponents(t, keystoneDir, components...)
}

// TestKeystoneChartAgreesWithKustomize: the chart with default values
// renders exactly deploy/keystone-auth, and with sync.enabled exactly
// deploy/keystone-auth plus components/sync.
func TestKeystoneChartAgreesWithKustomize(t *testing.T) {
	for _, v := range keystoneVariants {
		t.Run(v.name, func(t *testing.T) {
			assertSameObjects(t, renderKeystoneKustomize(t, v.components...), mustRender(t, keystoneChart, v.values))
		})
	}
}

// TestKeystoneManifests checks what the rendering promises: the pod is
// restricted, runs next to kube-apiserver on the host network, mounts
// exactly the files its flags name, and the policy and sync ConfigMaps
// hold what pkg/keystoneauth accepts.
func TestKeystoneManifests(t *testing.T) {
	for _, v := range keystoneVariants {
		t.Run(v.name, func(t *testing.T) {
			objs := renderKeystoneKustomize(t, v.components...)
			ds := convert[appsv1.DaemonSet](t, objs[keystoneDS])
			spec := ds.Spec.Template.Spec
			if !spec.HostNetwork || spec.NodeSelector["node-role.kubernetes.io/control-plane"] != "" || len(spec.NodeSelector) != 1 {
				t.Errorf("want hostNetwork on control-plane nodes, got hostNetwork=%v nodeSelector=%v", spec.HostNetwork, spec.NodeSelector)
			}
			if !slices.ContainsFunc(spec.Tolerations, func(tl corev1.Toleration) bool { return tl.Key == "node-role.kubernetes.io/control-plane" }) {
				t.Errorf("no toleration of the control-plane taint: %v", spec.Tolerations)
			}
			if spec.ServiceAccountName != keystoneSA {
				t.Errorf("serviceAccountName %q", spec.ServiceAccountName)
			}
			psc := spec.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
				psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod securityContext not restricted: %+v", psc)
			}
			if len(spec.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(spec.Containers))
			}
			c := spec.Containers[0]
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
				t.Errorf("container securityContext not restricted: %+v", sc)
			}
			if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
				t.Errorf("resources %v: want a CPU request and a memory limit", c.Resources)
			}
			for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
				if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Scheme != corev1.URISchemeHTTPS || probe.HTTPGet.Port.IntValue() != 8443 {
					t.Errorf("probe of %s: got %+v, want HTTPS GET %s on 8443", path, probe, path)
				}
			}
			if !slices.Contains(c.Args, "--listen=:8443") {
				t.Errorf("args %v lack --listen=:8443 (the apiserver's webhook kubeconfig points there)", c.Args)
			}
			checkKeystoneFiles(t, objs, spec, c)
			checkKeystoneConfigMaps(t, objs, c.Args, v.name == "sync")
		})
	}
}

// checkKeystoneFiles: every file a flag names lies in a read-only mount of
// a volume that provides that key.
func checkKeystoneFiles(t *testing.T, objs objects, spec corev1.PodSpec, c corev1.Container) {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	want := map[string]string{"--tls-cert-file": "tls.crt", "--tls-private-key-file": "tls.key", "--cloud-config": "cloud.conf", "--sync-config-file": "sync-config.yaml"}
	for _, a := range c.Args {
		flag, path, _ := strings.Cut(a, "=")
		keyName, ok := want[flag]
		if !ok {
			continue
		}
		dir, file := path[:strings.LastIndex(path, "/")], path[strings.LastIndex(path, "/")+1:]
		if file != keyName {
			t.Errorf("%s names file %s, want key %s", flag, file, keyName)
		}
		i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir })
		if i < 0 {
			t.Errorf("%s=%s: nothing mounted at %s", flag, path, dir)
			continue
		}
		m := c.VolumeMounts[i]
		if !m.ReadOnly || m.SubPath != "" {
			t.Errorf("%s: mount %+v must be read-only without subPath (files are updated in place)", flag, m)
		}
		v := vols[m.Name]
		switch {
		case v.Secret != nil:
			t.Logf("%s from Secret %s key %s", flag, v.Secret.SecretName, file)
		case v.ConfigMap != nil:
			cm, ok := objs["v1/ConfigMap/kube-system/"+v.ConfigMap.Name]
			if !ok {
				t.Errorf("%s: ConfigMap %s not rendered", flag, v.ConfigMap.Name)
			} else if _, ok := convert[corev1.ConfigMap](t, cm).Data[file]; !ok {
				t.Errorf("%s: ConfigMap %s has no key %s", flag, v.ConfigMap.Name, file)
			}
		default:
			t.Errorf("%s: volume %s is neither a Secret nor a ConfigMap", flag, m.Name)
		}
	}
	if got := vols["tls"]; got.Secret == nil || got.Secret.SecretName != "keystone-auth-tls" {
		t.Errorf("tls volume %+v, want Secret keystone-auth-tls", got)
	}
	if got := vols["cloud-config"]; got.Secret == nil || got.Secret.SecretName != "keystone-auth-cloud-config" {
		t.Errorf("cloud-config volume %+v, want Secret keystone-auth-cloud-config", got)
	}
}

// checkKeystoneConfigMaps parses the policy and sync configuration with
// pkg/keystoneauth, as the webhook will.
func checkKeystoneConfigMaps(t *testing.T, objs objects, args []string, sync bool) {
	t.Helper()
	if !slices.Contains(args, "--policy-configmap-name=keystone-auth-policy") || !slices.Contains(args, "--policy-configmap-namespace=kube-system") {
		t.Errorf("args %v do not watch kube-system/keystone-auth-policy", args)
	}
	cm := convert[corev1.ConfigMap](t, objs["v1/ConfigMap/kube-system/keystone-auth-policy"])
	p, err := keystoneauth.ParsePolicy([]byte(cm.Data[keystoneauth.PolicyKey]))
	if err != nil {
		t.Fatalf("sample policy refused by pkg/keystoneauth: %v", err)
	}
	if len(p) != 1 || p[0].Users == nil || !slices.Equal(p[0].Users.Projects, []string{"demo"}) || !slices.Equal(p[0].Users.Roles, []string{"member"}) {
		t.Errorf("sample policy is not for project demo's members: %+v", p)
	}
	hasFlag := slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--sync-config-file=") })
	sc, rendered := objs["v1/ConfigMap/kube-system/keystone-auth-sync"]
	if hasFlag != sync || rendered != sync {
		t.Fatalf("sync=%v but --sync-config-file=%v, ConfigMap rendered=%v", sync, hasFlag, rendered)
	}
	if !sync {
		if len(objs.ofKind("ClusterRole")) != 0 {
			t.Errorf("without sync the webhook needs no ClusterRole: %v", objs.ofKind("ClusterRole"))
		}
		return
	}
	cfg, err := keystoneauth.ParseSyncConfig([]byte(convert[corev1.ConfigMap](t, sc).Data["sync-config.yaml"]))
	if err != nil {
		t.Fatalf("sync config refused by pkg/keystoneauth: %v", err)
	}
	if !slices.Equal(cfg.DataTypes, []string{keystoneauth.SyncProjects, keystoneauth.SyncRoleAssignments}) {
		t.Errorf("sync config syncs %v", cfg.DataTypes)
	}
	cr := convert[rbacv1.ClusterRole](t, objs["rbac.authorization.k8s.io/v1/ClusterRole//kumo:keystone-auth-sync"])
	for _, r := range cr.Rules {
		if slices.Contains(r.Verbs, "bind") && (len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, "cluster-admin")) {
			t.Errorf("bind rule %+v must name the Keystone roles only", r)
		}
	}
}

// TestKeystoneCredentialsTemplate: the cloud.conf template parses with
// kumo's loader and uses application credentials.
func TestKeystoneCredentialsTemplate(t *testing.T) {
	objs := renderKustomize(t, keystoneDir+"/credentials")
	sec := convert[corev1.Secret](t, objs["v1/Secret/kube-system/keystone-auth-cloud-config"])
	cfg, err := config.Parse("cloud.conf", []byte(sec.StringData["cloud.conf"]))
	if err != nil {
		t.Fatalf("template cloud.conf rejected by pkg/openstack/config: %v", err)
	}
	if !cfg.Global.UsesApplicationCredential() || len(cfg.Warnings) > 0 {
		t.Errorf("template: application credentials=%v, warnings %v", cfg.Global.UsesApplicationCredential(), cfg.Warnings)
	}
}

// TestKeystoneAPIServerSample: the sample webhook kubeconfig loads with
// client-go, as kube-apiserver loads it, and points at the port the
// DaemonSet listens on, over verified TLS.
func TestKeystoneAPIServerSample(t *testing.T) {
	path := filepath.Join(repoRoot(t), keystoneDir, "apiserver", "webhook-kubeconfig.yaml")
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		t.Fatalf("current-context %q not defined", cfg.CurrentContext)
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok {
		t.Fatalf("cluster %q not defined", ctx.Cluster)
	}
	u, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	args := podSpecs(t, renderKustomize(t, keystoneDir))["kumo-keystone-auth"].Containers[0].Args
	if u.Scheme != "https" || u.Hostname() != "127.0.0.1" || u.Path != "/webhook" || !slices.Contains(args, "--listen=:"+u.Port()) {
		t.Errorf("server %s does not reach the webhook of this node (args %v)", cluster.Server, args)
	}
	if cluster.InsecureSkipTLSVerify || cluster.CertificateAuthority == "" {
		t.Errorf("the webhook's certificate must be verified: %+v", cluster)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--authentication-token-webhook-config-file=", "--authorization-webhook-config-file=", "--authorization-mode=Node,RBAC,Webhook"} {
		if !strings.Contains(string(raw), flag) {
			t.Errorf("the sample's comment does not give kube-apiserver %s", flag)
		}
	}
}
