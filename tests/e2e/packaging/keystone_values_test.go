package packaging

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kumo-project/kumo/pkg/keystoneauth"
)

// TestKeystoneChartValuesRejected: the schema and templates refuse bad
// values with an error naming the value.
func TestKeystoneChartValuesRejected(t *testing.T) {
	sync := func(m map[string]any) map[string]any {
		return map[string]any{"sync": map[string]any{"enabled": true, "config": m}}
	}
	cases := []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{"typo in key", map[string]any{"replica": 2}, []string{"replica"}},
		{"unknown log format", map[string]any{"logging": map[string]any{"format": "yaml"}}, []string{"format"}},
		{"port zero", map[string]any{"port": 0}, []string{"port"}},
		{"port as string", map[string]any{"port": "8443"}, []string{"port"}},
		{"policy as a map", map[string]any{"policy": map[string]any{"users": map[string]any{}}}, []string{"policy"}},
		{"policy string not a list", map[string]any{"policy": `{"users": {}}`}, []string{"policy"}},
		{"policy rule not an object", map[string]any{"policy": []any{"allow all"}}, []string{"policy"}},
		{"tls secret empty", map[string]any{"tls": map[string]any{"secretName": ""}}, []string{"secretName"}},
		{"cloud config secret upper case", map[string]any{"cloudConfig": map[string]any{"secretName": "Cloud"}}, []string{"secretName"}},
		{"namespace format without %i", sync(map[string]any{"namespace-format": "tenant-%n"}), []string{"namespace-format"}},
		{"unknown data type", sync(map[string]any{"data-types-to-sync": []any{"users"}}), []string{"data-types-to-sync"}},
		{"role-mappings unsupported", sync(map[string]any{"role-mappings": []any{}}), []string{"role-mappings"}},
		{"bind cluster-admin", map[string]any{"sync": map[string]any{"roles": []any{"member", "cluster-admin"}}}, []string{"roles"}},
		{"sync enabled not bool", map[string]any{"sync": map[string]any{"enabled": "yes"}}, []string{"enabled"}},
		{"extraArgs not a flag", map[string]any{"extraArgs": []any{"v=4"}}, []string{"extraArgs"}},
		{"pull secret as string", map[string]any{"imagePullSecrets": []any{"regcred"}}, []string{"imagePullSecrets"}},
		{"selector label", map[string]any{"podLabels": map[string]any{"app.kubernetes.io/name": "x"}}, []string{"podLabels", "selector"}},
		{"mount without path", map[string]any{"extraVolumeMounts": []any{map[string]any{"name": "ca"}}}, []string{"mountPath"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart(keystoneChart, "kube-system", tc.values)
			if err == nil {
				t.Fatalf("values %v were accepted", tc.values)
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %q: %v", w, err)
				}
			}
		})
	}
}

// keystoneFullValues sets every optional value.
func keystoneFullValues() map[string]any {
	return map[string]any{
		"image":            map[string]any{"repository": "registry.example.com/keystone-auth", "tag": "v9", "pullPolicy": "Always"},
		"imagePullSecrets": []any{map[string]any{"name": "regcred"}},
		"port":             9443,
		"logVerbosity":     4,
		"logging":          map[string]any{"format": "json"},
		"tls":              map[string]any{"secretName": "webhook-tls"},
		"cloudConfig":      map[string]any{"secretName": "webhook-cloud"},
		"policy":           `[{"users": {"projects": ["ops"], "roles": ["admin"]}, "resource_permissions": {"*/*": ["get"]}}]`,
		"sync": map[string]any{"enabled": true, "roles": []any{"member", "reader", "load-balancer_member"},
			"config": map[string]any{"data-types-to-sync": []any{"projects"}, "namespace-format": "%n-%i", "projects-blacklist": []any{"p1"}}},
		"extraArgs":         []any{"--token-cache-ttl=30s"},
		"nodeSelector":      map[string]any{"example.com/apiserver": "true"},
		"tolerations":       []any{map[string]any{"key": "example.com/dedicated", "operator": "Exists", "effect": "NoSchedule"}},
		"resources":         map[string]any{"limits": map[string]any{"memory": "64Mi"}},
		"priorityClassName": "system-node-critical",
		"podLabels":         map[string]any{"team": "identity"},
		"podAnnotations":    map[string]any{"example.com/owner": "identity"},
		"extraEnv":          []any{map[string]any{"name": "SSL_CERT_FILE", "value": "/etc/keystone-auth/ca/ca.crt"}},
		"extraVolumes":      []any{map[string]any{"name": "ca", "configMap": map[string]any{"name": "keystone-ca"}}},
		"extraVolumeMounts": []any{map[string]any{"name": "ca", "mountPath": "/etc/keystone-auth/ca", "readOnly": true}},
		"metricsService":    map[string]any{"enabled": true, "annotations": map[string]any{"example.com/scrape": "true"}},
	}
}

// TestKeystoneChartValuesApplied: each optional value reaches the field it
// controls.
func TestKeystoneChartValuesApplied(t *testing.T) {
	objs := mustRender(t, keystoneChart, keystoneFullValues())
	pod := podSpecsWithMeta(t, objs)["kumo-keystone-auth"]
	c := pod.spec.Containers[0]
	for _, want := range []string{"--listen=:9443", "--v=4", "--logging-format=json", "--token-cache-ttl=30s", "--sync-config-file=/etc/keystone-auth/sync/sync-config.yaml"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	if c.Image != "registry.example.com/keystone-auth:v9" || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %s %s", c.Image, c.ImagePullPolicy)
	}
	if c.Ports[0].ContainerPort != 9443 || c.LivenessProbe.HTTPGet.Port.IntValue() != 9443 || c.ReadinessProbe.HTTPGet.Port.IntValue() != 9443 {
		t.Errorf("port 9443 not applied: ports %v, probes %v %v", c.Ports, c.LivenessProbe.HTTPGet.Port, c.ReadinessProbe.HTTPGet.Port)
	}
	if pod.labels["team"] != "identity" || pod.annotations["example.com/owner"] != "identity" || pod.spec.PriorityClassName != "system-node-critical" ||
		pod.spec.NodeSelector["example.com/apiserver"] != "true" || pod.spec.Tolerations[0].Key != "example.com/dedicated" ||
		pod.spec.ImagePullSecrets[0].Name != "regcred" || c.Env[0].Name != "SSL_CERT_FILE" || c.Resources.Limits.Memory().String() != "64Mi" {
		t.Errorf("pod values not applied: %+v", pod)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.spec.Volumes {
		vols[v.Name] = v
	}
	if vols["tls"].Secret.SecretName != "webhook-tls" || vols["cloud-config"].Secret.SecretName != "webhook-cloud" || vols["ca"].ConfigMap == nil {
		t.Errorf("volumes %v", pod.spec.Volumes)
	}
	policy := convert[corev1.ConfigMap](t, objs["v1/ConfigMap/kube-system/keystone-auth-policy"]).Data[keystoneauth.PolicyKey]
	if _, err := keystoneauth.ParsePolicy([]byte(policy)); err != nil || !strings.Contains(policy, `"ops"`) {
		t.Errorf("policy string not passed through (%v): %s", err, policy)
	}
	syncConf := convert[corev1.ConfigMap](t, objs["v1/ConfigMap/kube-system/keystone-auth-sync"]).Data["sync-config.yaml"]
	sc, err := keystoneauth.ParseSyncConfig([]byte(syncConf))
	if err != nil || sc.NamespaceFormat != "%n-%i" || !slices.Equal(sc.DataTypes, []string{"projects"}) || !slices.Equal(sc.ProjectBlacklist, []string{"p1"}) {
		t.Errorf("sync config %+v (%v) from:\n%s", sc, err, syncConf)
	}
	cr := convert[rbacv1.ClusterRole](t, objs["rbac.authorization.k8s.io/v1/ClusterRole//kumo:keystone-auth-sync"])
	if i := slices.IndexFunc(cr.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.Verbs, "bind") }); i < 0 ||
		!slices.Equal(cr.Rules[i].ResourceNames, []string{"member", "reader", "load-balancer_member"}) {
		t.Errorf("sync.roles not the bind resourceNames: %+v", cr.Rules)
	}
	svc := convert[corev1.Service](t, objs["v1/Service/kube-system/kumo-keystone-auth-metrics"])
	if svc.Spec.Ports[0].Port != 9443 || svc.Annotations["example.com/scrape"] != "true" {
		t.Errorf("metrics Service %+v", svc)
	}

	// A list policy is rendered as JSON the webhook accepts; metrics off
	// renders no Service; another namespace is followed everywhere.
	rules := []any{map[string]any{"resource": map[string]any{"verbs": []any{"get"}, "resources": []any{"pods"}, "version": "*", "namespace": "default"},
		"match": []any{map[string]any{"type": "project", "values": []any{"demo"}}}}}
	other, err := renderChart(keystoneChart, "identity", map[string]any{"policy": rules, "metricsService": map[string]any{"enabled": false}})
	if err != nil {
		t.Fatal(err)
	}
	if len(other.ofKind("Service")) != 0 {
		t.Errorf("metricsService.enabled=false still renders %v", other.ofKind("Service"))
	}
	cm := convert[corev1.ConfigMap](t, other["v1/ConfigMap/identity/keystone-auth-policy"])
	if p, err := keystoneauth.ParsePolicy([]byte(cm.Data[keystoneauth.PolicyKey])); err != nil || len(p) != 1 || p[0].Resource == nil {
		t.Errorf("list policy rendered as %q: %v", cm.Data[keystoneauth.PolicyKey], err)
	}
	ds := podSpecs(t, other)["kumo-keystone-auth"]
	if !slices.Contains(ds.Containers[0].Args, "--policy-configmap-namespace=identity") {
		t.Errorf("args %v do not watch the release namespace", ds.Containers[0].Args)
	}
}
