package packaging

import (
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestManifestsAgainstAPIServer applies every rendered manifest to a real
// kube-apiserver with server-side dry-run and strict field validation, so
// a schema error in deploy/ or charts/ fails here. It then creates the
// RBAC for real and asks the authorizer whether each component may do
// exactly what it needs.
func TestManifestsAgainstAPIServer(t *testing.T) {
	s := startAPIServer(t)

	for _, c := range components {
		for _, cloud := range clouds {
			t.Run("kustomize/"+c.name+"/"+cloud, func(t *testing.T) {
				objs := renderKustomize(t, "deploy/"+c.overlay+"/overlays/"+cloud)
				if err := s.applyAll(objs, true); err != nil {
					t.Fatal(err)
				}
				t.Logf("%d objects accepted", len(objs))
			})
			t.Run("helm/"+c.name+"/"+cloud, func(t *testing.T) {
				vals := fullChartValues(c.chart, cloud)
				objs, err := renderChart("charts/"+c.chart, "kube-system", vals)
				if err != nil {
					t.Fatal(err)
				}
				// The Prometheus Operator's CRD is not installed here;
				// TestChartMetricsService checks the ServiceMonitor.
				for _, u := range objs.ofKind("ServiceMonitor") {
					t.Logf("not applied: %s (monitoring.coreos.com CRD absent)", key(u))
					delete(objs, key(u))
				}
				if err := s.applyAll(objs, true); err != nil {
					t.Fatal(err)
				}
				t.Logf("%d objects accepted (all optional values set)", len(objs))
			})
		}
	}
	for _, cloud := range clouds {
		t.Run("kustomize/csi/"+cloud+"/metrics-networkpolicy", func(t *testing.T) {
			objs := renderWithComponents(t, "deploy/csi/overlays/"+cloud, metricsNetworkPolicy)
			if len(objs.ofKind("NetworkPolicy")) != 1 {
				t.Fatalf("component rendered no NetworkPolicy: %v", objs.keys())
			}
			if err := s.applyAll(objs, true); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, cloud := range clouds {
		t.Run("credentials/"+cloud, func(t *testing.T) {
			if err := s.applyAll(renderKustomize(t, "deploy/credentials/"+cloud), true); err != nil {
				t.Fatal(err)
			}
		})
	}

	// The checks above would be worthless if the server only warned about
	// unknown fields: prove a misspelt field is rejected.
	t.Run("strict-validation", func(t *testing.T) {
		objs := renderKustomize(t, "deploy/ccm/overlays/nifcloud")
		ds := objs.ofKind("DaemonSet")[0].DeepCopy()
		containers, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
		containers[0].(map[string]any)["readOnlyRootFileSystem"] = true // wrong case
		if err := unstructured.SetNestedSlice(ds.Object, containers, "spec", "template", "spec", "containers"); err != nil {
			t.Fatal(err)
		}
		err := s.apply(ds, true)
		if err == nil || !strings.Contains(err.Error(), "readOnlyRootFileSystem") {
			t.Fatalf("misspelt field: got %v, want an error naming readOnlyRootFileSystem", err)
		}
	})

	t.Run("rbac", func(t *testing.T) {
		// Both clouds' RBAC: the openstack CSI rendering adds the
		// snapshotter, the nifcloud one the node's get nodes, and both
		// CCM overlays bind their provider's event ServiceAccount.
		for _, dir := range []string{"deploy/ccm/overlays/nifcloud", "deploy/ccm/overlays/openstack", "deploy/csi/overlays/nifcloud", "deploy/csi/overlays/openstack"} {
			objs := renderKustomize(t, dir)
			for _, k := range objs.keys() {
				switch objs[k].GetKind() {
				case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
					if err := s.apply(objs[k], false); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		perms := requiredPermissions()
		t.Logf("%d access checks", len(perms))
		for _, p := range perms {
			if got := s.allowed(t, p); got != p.allow {
				t.Errorf("%s: allowed=%v, want %v (%s)", p, got, p.allow, p.why)
			}
		}
		t.Run("ccm-token-escalation", func(t *testing.T) { testCCMTokenEscalation(t, s) })
		t.Run("helm-health-monitor", func(t *testing.T) { testHealthMonitorRBAC(t, s) })
	})
}

// testHealthMonitorRBAC creates the chart's health-monitor RBAC for real
// and checks the controller's ServiceAccount may do what the sidecar does
// (watch PVs, PVCs, Nodes, Pods; record events) and nothing more.
func testHealthMonitorRBAC(t *testing.T, s *apiServer) {
	objs := mustRender(t, csiChart, map[string]any{"cloud": "nifcloud", "sidecars": map[string]any{"healthMonitor": map[string]any{"enabled": true}}})
	for _, k := range []string{"rbac.authorization.k8s.io/v1/ClusterRole//kumo:csi-health-monitor", "rbac.authorization.k8s.io/v1/ClusterRoleBinding//kumo:csi-health-monitor"} {
		if err := s.apply(objs[k], false); err != nil {
			t.Fatal(err)
		}
	}
	const sa = "kumo-csi-controller"
	for _, p := range []permission{
		{sa: sa, verb: "watch", resource: "persistentvolumes", allow: true, why: "health monitor lists PVs"},
		{sa: sa, verb: "list", resource: "pods", allow: true, why: "health monitor finds the pods of a PVC"},
		{sa: sa, verb: "get", resource: "nodes", name: "n1", allow: true, why: "node watcher"},
		{sa: sa, verb: "create", resource: "events", namespace: "default", allow: true, why: "events on PVCs"},
		{sa: sa, verb: "patch", resource: "events", namespace: "default", allow: true, why: "event aggregation"},
		{sa: sa, verb: "patch", resource: "nodes", name: "n1", allow: false, why: "the monitor only reports"},
		{sa: sa, verb: "delete", resource: "pods", namespace: "default", name: "p", allow: false, why: "the monitor only reports"},
		{sa: sa, verb: "get", resource: "secrets", namespace: "default", name: "s", allow: false, why: "no role reads Secrets"},
	} {
		if got := s.allowed(t, p); got != p.allow {
			t.Errorf("%s: allowed=%v, want %v (%s)", p, got, p.allow, p.why)
		}
	}
}

// fullChartValues sets every optional value so that all template branches
// reach the API server.
func fullChartValues(chart, cloud string) map[string]any {
	secret := map[string]any{"create": true}
	if cloud == "nifcloud" {
		secret["nifcloud"] = map[string]any{"accessKeyID": "AKID", "secretAccessKey": "SECRET", "region": "jp-east-1", "endpoint": "https://example.invalid/api/"}
	} else {
		secret["cloudConfig"] = "[Global]\nauth-url = https://keystone.invalid/v3\n"
	}
	vals := map[string]any{"cloud": cloud, "secret": secret,
		"imagePullSecrets": []any{map[string]any{"name": "regcred"}},
		"logging":          map[string]any{"format": "json"},
	}
	withPod := func(m map[string]any) map[string]any {
		for k, v := range podValues() {
			m[k] = v
		}
		return m
	}
	switch chart {
	case "kumo-cloud-controller-manager":
		withPod(vals)
		vals["extraArgs"] = []any{"--concurrent-service-syncs=2"}
		vals["leaderElection"] = map[string]any{"leaseDuration": "30s", "renewDeadline": "20s", "retryPeriod": "4s"}
		vals["serviceMonitor"] = map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"}, "interval": "30s"}
		vals["metricsService"] = map[string]any{"enabled": true, "annotations": map[string]any{"example.com/scrape": "true"}}
	case "kumo-csi-driver":
		vals["controller"] = withPod(map[string]any{"extraArgs": []any{"--zone=zone-a"}, "replicas": 1, "metricsTLS": map[string]any{"secretName": "kumo-csi-metrics-tls"},
			"logVerbosity":        4,
			"leaderElection":      map[string]any{"leaseDuration": "30s", "renewDeadline": "20s", "retryPeriod": "4s"},
			"podDisruptionBudget": map[string]any{"enabled": true},
			"metricsService":      map[string]any{"enabled": true},
			"serviceMonitor":      map[string]any{"enabled": true, "tlsConfig": map[string]any{"insecureSkipVerify": true}},
			"topologySpreadConstraints": []any{map[string]any{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
				"labelSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/component": "controller"}}}},
		})
		vals["networkPolicy"] = map[string]any{"enabled": true}
		vals["node"] = withPod(map[string]any{"extraArgs": []any{"--max-volumes-per-node=10"}, "kubeletDir": "/var/lib/k0s/kubelet", "logVerbosity": 3,
			"tolerations": []any{map[string]any{"key": "example.com/dedicated", "operator": "Exists", "effect": "NoSchedule"}}})
		vals["sidecars"] = map[string]any{
			"provisioner":   map[string]any{"extraArgs": []any{"--worker-threads=50"}, "logVerbosity": 5},
			"livenessProbe": map[string]any{"logVerbosity": 3},
			"healthMonitor": map[string]any{"enabled": true, "extraArgs": []any{"--monitor-interval=5m"}},
		}
		vals["storageClasses"] = []any{map[string]any{
			"name": "fast", "isDefault": true, "reclaimPolicy": "Retain",
			"parameters": map[string]any{"csi.storage.k8s.io/fstype": "xfs"}, "allowVolumeExpansion": false,
		}}
		if cloud == "openstack" {
			vals["controller"].(map[string]any)["storageCapacity"] = map[string]any{"enabled": true}
			vals["volumeSnapshotClasses"] = []any{
				map[string]any{"name": "kumo-cinder-snapshot", "isDefault": true, "parameters": map[string]any{"type": "snapshot"}},
				map[string]any{"name": "kumo-cinder-backup", "deletionPolicy": "Retain", "parameters": map[string]any{"type": "backup", "force-create": "true"}},
			}
		}
	}
	return vals
}

// podValues are the pod options both charts share, as the CA-bundle
// recipe of docs/helm.md uses them.
func podValues() map[string]any {
	return map[string]any{
		"podLabels":         map[string]any{"team": "storage"},
		"podAnnotations":    map[string]any{"example.com/owner": "storage"},
		"priorityClassName": "system-cluster-critical",
		"affinity": map[string]any{"nodeAffinity": map[string]any{"preferredDuringSchedulingIgnoredDuringExecution": []any{map[string]any{
			"weight": 1, "preference": map[string]any{"matchExpressions": []any{map[string]any{"key": "example.com/pool", "operator": "In", "values": []any{"infra"}}}},
		}}}},
		"extraEnv":          []any{map[string]any{"name": "SSL_CERT_FILE", "value": "/etc/kumo/ca/ca.crt"}},
		"extraVolumes":      []any{map[string]any{"name": "cloud-ca", "configMap": map[string]any{"name": "cloud-ca"}}},
		"extraVolumeMounts": []any{map[string]any{"name": "cloud-ca", "mountPath": "/etc/kumo/ca", "readOnly": true}},
	}
}

// permission is one access check for a ServiceAccount in kube-system.
type permission struct {
	sa                         string
	verb, group, resource, sub string
	namespace, name            string
	allow                      bool
	why                        string
}

func (p permission) String() string {
	r := p.resource
	if p.sub != "" {
		r += "/" + p.sub
	}
	if p.group != "" {
		r += "." + p.group
	}
	return "system:serviceaccount:kube-system:" + p.sa + " " + p.verb + " " + r + " ns=" + p.namespace + " name=" + p.name
}

func (s *apiServer) allowed(t *testing.T, p permission) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:kube-system:" + p.sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: p.verb, Group: p.group, Resource: p.resource, Subresource: p.sub, Namespace: p.namespace, Name: p.name,
		},
	}}
	res, err := s.client.AuthorizationV1().SubjectAccessReviews().Create(s.ctx, sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return res.Status.Allowed
}
