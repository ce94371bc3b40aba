package packaging

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/profile"
)

const (
	csiChart = "charts/kumo-csi-driver"
	ccmChart = "charts/kumo-cloud-controller-manager"
)

// mustRender renders a chart into kube-system or fails the test.
func mustRender(t *testing.T, chart string, values map[string]any) objects {
	t.Helper()
	objs, err := renderChart(chart, "kube-system", values)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// containerOf returns the named container of a pod spec.
func containerOf(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

// hasContainer reports whether a pod spec runs the named container.
func hasContainer(spec corev1.PodSpec, name string) bool {
	return slices.ContainsFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == name })
}

// argsWithPrefix returns the args that start with prefix.
func argsWithPrefix(args []string, prefix string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			out = append(out, a)
		}
	}
	return out
}

// leaderElectedSidecars are the controller containers that take a lease.
var leaderElectedSidecars = []string{"csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter", "csi-external-health-monitor-controller"}

// TestChartContainerOptions: per-container extraArgs, resources and log
// level, the global logVerbosity as their default, and logging.format on
// the driver and the CCM.
func TestChartContainerOptions(t *testing.T) {
	objs := mustRender(t, csiChart, map[string]any{
		"cloud":        "openstack",
		"logVerbosity": 2,
		"logging":      map[string]any{"format": "json"},
		"controller":   map[string]any{"logVerbosity": 6},
		"node":         map[string]any{"logVerbosity": 0},
		"sidecars": map[string]any{
			"provisioner":         map[string]any{"logVerbosity": 5, "extraArgs": []any{"--worker-threads=50"}, "resources": map[string]any{"limits": map[string]any{"memory": "512Mi"}}},
			"livenessProbe":       map[string]any{"logVerbosity": 3},
			"nodeDriverRegistrar": map[string]any{"extraArgs": []any{"--timeout=5s"}},
			"snapshotter":         map[string]any{"resources": map[string]any{"requests": map[string]any{"cpu": "50m"}}},
		},
	})
	specs := podSpecs(t, objs)
	ctrl, node := specs["kumo-csi-controller"], specs["kumo-csi-node"]

	prov := containerOf(t, ctrl, "csi-provisioner")
	if got := argsWithPrefix(prov.Args, "--v="); !slices.Equal(got, []string{"--v=5"}) {
		t.Errorf("provisioner verbosity %v, want [--v=5]", got)
	}
	if last := prov.Args[len(prov.Args)-1]; last != "--worker-threads=50" {
		t.Errorf("provisioner extraArgs must come last (to override the chart's flags), args %v", prov.Args)
	}
	if got := prov.Resources.Limits.Memory(); !got.Equal(resource.MustParse("512Mi")) {
		t.Errorf("provisioner memory limit %v, want 512Mi", got)
	}
	// Helm merges maps: the default requests stay unless set to null.
	if got := prov.Resources.Requests.Memory(); !got.Equal(resource.MustParse("40Mi")) {
		t.Errorf("provisioner memory request %v, want the default 40Mi", got)
	}
	snap := containerOf(t, ctrl, "csi-snapshotter")
	if got := snap.Resources.Requests.Cpu(); !got.Equal(resource.MustParse("50m")) {
		t.Errorf("snapshotter cpu request %v, want 50m", got)
	}
	for _, name := range []string{"csi-attacher", "csi-resizer", "csi-snapshotter"} {
		if got := argsWithPrefix(containerOf(t, ctrl, name).Args, "--v="); !slices.Equal(got, []string{"--v=2"}) {
			t.Errorf("%s verbosity %v, want the global [--v=2]", name, got)
		}
	}
	for pod, spec := range map[string]corev1.PodSpec{"controller": ctrl, "node": node} {
		if got := argsWithPrefix(containerOf(t, spec, "liveness-probe").Args, "--v="); !slices.Equal(got, []string{"--v=3"}) {
			t.Errorf("%s liveness-probe verbosity %v, want [--v=3]", pod, got)
		}
	}
	reg := containerOf(t, node, "node-driver-registrar")
	if !slices.Contains(reg.Args, "--timeout=5s") || !slices.Contains(reg.Args, "--v=2") {
		t.Errorf("registrar args %v lack extraArgs or the global --v=2", reg.Args)
	}
	for pod, want := range map[string]string{"controller": "--v=6", "node": "--v=0"} {
		spec := map[string]corev1.PodSpec{"controller": ctrl, "node": node}[pod]
		drv := containerOf(t, spec, "csi-driver")
		if got := argsWithPrefix(drv.Args, "--v="); !slices.Equal(got, []string{want}) {
			t.Errorf("%s driver verbosity %v, want [%s]", pod, got, want)
		}
		if !slices.Contains(drv.Args, "--logging-format=json") {
			t.Errorf("%s driver args %v lack --logging-format=json", pod, drv.Args)
		}
	}

	// Defaults: no --logging-format, and the liveness probe passes no --v.
	def := podSpecs(t, mustRender(t, csiChart, map[string]any{"cloud": "nifcloud"}))
	for pod, spec := range def {
		for _, c := range spec.Containers {
			if got := argsWithPrefix(c.Args, "--logging-format"); len(got) > 0 {
				t.Errorf("defaults: %s/%s passes %v", pod, c.Name, got)
			}
		}
		if got := argsWithPrefix(containerOf(t, spec, "liveness-probe").Args, "--v="); len(got) > 0 {
			t.Errorf("defaults: %s liveness-probe passes %v", pod, got)
		}
	}

	ccm := podSpecs(t, mustRender(t, ccmChart, map[string]any{"cloud": "nifcloud", "logging": map[string]any{"format": "json"}}))["kumo-cloud-controller-manager"]
	if args := ccm.Containers[0].Args; !slices.Contains(args, "--logging-format=json") {
		t.Errorf("CCM args %v lack --logging-format=json", args)
	}
}

// TestChartLeaderElection: lease tuning reaches every leader-elected
// sidecar and the CCM when set, and renders nothing when not.
func TestChartLeaderElection(t *testing.T) {
	le := map[string]any{"leaseDuration": "137s", "renewDeadline": "107s", "retryPeriod": "26s"}
	objs := mustRender(t, csiChart, map[string]any{
		"cloud":      "openstack",
		"controller": map[string]any{"leaderElection": le},
		"sidecars":   map[string]any{"healthMonitor": map[string]any{"enabled": true}},
	})
	ctrl := podSpecs(t, objs)["kumo-csi-controller"]
	want := []string{"--leader-election-lease-duration=137s", "--leader-election-renew-deadline=107s", "--leader-election-retry-period=26s"}
	for _, name := range leaderElectedSidecars {
		args := containerOf(t, ctrl, name).Args
		for _, w := range append([]string{"--leader-election=true", "--leader-election-namespace=kube-system"}, want...) {
			if !slices.Contains(args, w) {
				t.Errorf("%s args %v lack %s", name, args, w)
			}
		}
	}
	for _, name := range []string{"csi-driver", "liveness-probe"} {
		if got := argsWithPrefix(containerOf(t, ctrl, name).Args, "--leader-election"); len(got) > 0 {
			t.Errorf("%s is not leader-elected but got %v", name, got)
		}
	}
	for _, cloud := range clouds {
		def := podSpecs(t, mustRender(t, csiChart, map[string]any{"cloud": cloud}))["kumo-csi-controller"]
		for _, c := range def.Containers {
			for _, p := range []string{"--leader-election-lease", "--leader-election-renew", "--leader-election-retry"} {
				if got := argsWithPrefix(c.Args, p); len(got) > 0 {
					t.Errorf("defaults (%s): %s passes %v", cloud, c.Name, got)
				}
			}
		}
	}

	ccm := podSpecs(t, mustRender(t, ccmChart, map[string]any{"cloud": "openstack", "leaderElection": le}))["kumo-cloud-controller-manager"]
	args := ccm.Containers[0].Args
	for _, w := range []string{"--leader-elect=true", "--leader-elect-lease-duration=137s", "--leader-elect-renew-deadline=107s", "--leader-elect-retry-period=26s"} {
		if !slices.Contains(args, w) {
			t.Errorf("CCM args %v lack %s", args, w)
		}
	}
	defCCM := podSpecs(t, mustRender(t, ccmChart, map[string]any{"cloud": "openstack"}))["kumo-cloud-controller-manager"]
	if got := argsWithPrefix(defCCM.Containers[0].Args, "--leader-elect-"); len(got) > 0 {
		t.Errorf("CCM defaults pass %v", got)
	}
}

// TestChartHealthMonitor: the external-health-monitor-controller and its
// RBAC appear only when enabled, hardened like every other sidecar.
func TestChartHealthMonitor(t *testing.T) {
	const name = "csi-external-health-monitor-controller"
	for _, cloud := range clouds {
		def := mustRender(t, csiChart, map[string]any{"cloud": cloud})
		if hasContainer(podSpecs(t, def)["kumo-csi-controller"], name) {
			t.Errorf("%s: health monitor runs by default", cloud)
		}
		if _, ok := def["rbac.authorization.k8s.io/v1/ClusterRole//kumo:csi-health-monitor"]; ok {
			t.Errorf("%s: health monitor ClusterRole rendered by default", cloud)
		}

		objs := mustRender(t, csiChart, map[string]any{"cloud": cloud, "sidecars": map[string]any{"healthMonitor": map[string]any{
			"enabled": true, "extraArgs": []any{"--monitor-interval=5m"}, "logVerbosity": 4,
		}}})
		hm := containerOf(t, podSpecs(t, objs)["kumo-csi-controller"], name)
		if hm.Image != "registry.k8s.io/sig-storage/csi-external-health-monitor-controller:v0.16.0" {
			t.Errorf("%s: image %s", cloud, hm.Image)
		}
		for _, w := range []string{"--csi-address=/csi/csi.sock", "--timeout=300s", "--leader-election=true", "--v=4", "--monitor-interval=5m"} {
			if !slices.Contains(hm.Args, w) {
				t.Errorf("%s: health monitor args %v lack %s", cloud, hm.Args, w)
			}
		}
		if !slices.ContainsFunc(hm.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "socket-dir" && m.MountPath == "/csi" }) {
			t.Errorf("%s: health monitor does not mount the CSI socket: %v", cloud, hm.VolumeMounts)
		}
		sc := hm.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: health monitor securityContext %+v is not restricted", cloud, sc)
		}
		if hm.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: health monitor has no memory limit", cloud)
		}

		role := convert[rbacv1.ClusterRole](t, objs["rbac.authorization.k8s.io/v1/ClusterRole//kumo:csi-health-monitor"])
		granted := map[string][]string{}
		for _, r := range role.Rules {
			if !slices.Equal(r.APIGroups, []string{""}) {
				t.Errorf("%s: rule outside the core group: %+v", cloud, r)
			}
			for _, res := range r.Resources {
				granted[res] = append(granted[res], r.Verbs...)
			}
		}
		for _, res := range []string{"persistentvolumes", "persistentvolumeclaims", "nodes", "pods"} {
			if v := granted[res]; !slices.Equal(v, []string{"get", "list", "watch"}) {
				t.Errorf("%s: %s verbs %v, want get, list, watch", cloud, res, v)
			}
		}
		if v := granted["events"]; !slices.Contains(v, "create") || !slices.Contains(v, "patch") || slices.Contains(v, "delete") {
			t.Errorf("%s: events verbs %v, want create and patch (upstream's rules)", cloud, v)
		}
		b := convert[rbacv1.ClusterRoleBinding](t, objs["rbac.authorization.k8s.io/v1/ClusterRoleBinding//kumo:csi-health-monitor"])
		if b.RoleRef.Name != role.Name || len(b.Subjects) != 1 || b.Subjects[0].Name != "kumo-csi-controller" || b.Subjects[0].Namespace != "kube-system" {
			t.Errorf("%s: binding %+v", cloud, b)
		}
	}
}

// TestChartNodeStartupTaint: the node plugin starts on a node that still
// has <driver>/agent-not-ready:NoExecute, whatever node.tolerations says,
// and knows its Node's name.
func TestChartNodeStartupTaint(t *testing.T) {
	for _, cloud := range clouds {
		prof, _ := profile.ForName(cloud)
		taint := &corev1.Taint{Key: prof.DriverName() + "/agent-not-ready", Effect: corev1.TaintEffectNoExecute}
		cases := []struct {
			name        string
			tolerations []any // nil: the chart's default
			wantAdded   bool
		}{
			{"default tolerates every taint", nil, false},
			{"narrowed tolerations", []any{map[string]any{"key": "example.com/dedicated", "operator": "Exists", "effect": "NoSchedule"}}, true},
			{"Exists with tolerationSeconds", []any{map[string]any{"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}}, true},
			{"already tolerated by key", []any{map[string]any{"key": taint.Key, "operator": "Exists"}}, false},
			{"none", []any{}, true},
		}
		for _, tc := range cases {
			t.Run(cloud+"/"+tc.name, func(t *testing.T) {
				vals := map[string]any{"cloud": cloud}
				if tc.tolerations != nil {
					vals["node"] = map[string]any{"tolerations": tc.tolerations}
				}
				node := podSpecs(t, mustRender(t, csiChart, vals))["kumo-csi-node"]
				tolerated := false
				for i := range node.Tolerations {
					tol := node.Tolerations[i]
					if tol.ToleratesTaint(klog.Background(), taint, false) && tol.TolerationSeconds == nil {
						tolerated = true
					}
				}
				if !tolerated {
					t.Errorf("tolerations %+v do not keep the plugin on a node with %s:%s", node.Tolerations, taint.Key, taint.Effect)
				}
				wantLen := len(tc.tolerations)
				if tc.tolerations == nil {
					wantLen = 1
				}
				if tc.wantAdded {
					wantLen++
				}
				if len(node.Tolerations) != wantLen {
					t.Errorf("%d tolerations %+v, want %d (user's kept, startup taint added=%v)", len(node.Tolerations), node.Tolerations, wantLen, tc.wantAdded)
				}
				drv := containerOf(t, node, "csi-driver")
				if !slices.ContainsFunc(drv.Env, func(e corev1.EnvVar) bool {
					return e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName"
				}) {
					t.Errorf("node driver env %+v lacks NODE_NAME from spec.nodeName", drv.Env)
				}
			})
		}
	}
}
