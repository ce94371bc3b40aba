package packaging

import (
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// checkMetricsService: the Service is headless, selects exactly the
// workload's pods and targets a port the metrics container declares.
func checkMetricsService(t *testing.T, objs objects, svcKey, workload, container string, port int32) {
	t.Helper()
	u, ok := objs[svcKey]
	if !ok {
		t.Fatalf("no %s in %v", svcKey, objs.keys())
	}
	svc := convert[corev1.Service](t, u)
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("%s: clusterIP %q, want None (every replica is scraped)", svc.Name, svc.Spec.ClusterIP)
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	matched := 0
	for name, p := range podSpecsWithMeta(t, objs) {
		if sel.Matches(labels.Set(p.labels)) {
			matched++
			if name != workload {
				t.Errorf("%s selects %s too", svc.Name, name)
				continue
			}
			ctr := containerOf(t, p.spec, container)
			if len(svc.Spec.Ports) != 1 {
				t.Fatalf("%s: ports %v", svc.Name, svc.Spec.Ports)
			}
			sp := svc.Spec.Ports[0]
			found := false
			for _, cp := range ctr.Ports {
				if cp.Name == sp.TargetPort.StrVal && cp.ContainerPort == port && sp.Port == port {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: port %+v does not reach %s's port %d (%v)", svc.Name, sp, container, port, ctr.Ports)
			}
		}
	}
	if matched != 1 {
		t.Errorf("%s selects %d workloads, want 1 (%s)", svc.Name, matched, workload)
	}
}

// serviceMonitorEndpoint returns the only endpoint of a ServiceMonitor
// after checking it selects the metrics Service by the Service's labels.
func serviceMonitorEndpoint(t *testing.T, objs objects, smKey, svcKey string) map[string]any {
	t.Helper()
	sm, ok := objs[smKey]
	if !ok {
		t.Fatalf("no %s in %v", smKey, objs.keys())
	}
	match, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if !labels.SelectorFromSet(match).Matches(labels.Set(objs[svcKey].GetLabels())) {
		t.Errorf("ServiceMonitor selector %v misses Service labels %v", match, objs[svcKey].GetLabels())
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("ServiceMonitor endpoints %v", eps)
	}
	ep := eps[0].(map[string]any)
	svc := convert[corev1.Service](t, objs[svcKey])
	if ep["port"] != svc.Spec.Ports[0].Name || ep["path"] != "/metrics" {
		t.Errorf("endpoint %v does not scrape Service port %s at /metrics", ep, svc.Spec.Ports[0].Name)
	}
	return ep
}

// TestChartMetricsService: the metrics Service and the optional
// ServiceMonitor of the CSI controller and the CCM.
func TestChartMetricsService(t *testing.T) {
	const (
		csiSvc = "v1/Service/kube-system/kumo-csi-controller-metrics"
		csiSM  = "monitoring.coreos.com/v1/ServiceMonitor/kube-system/kumo-csi-controller"
		ccmSvc = "v1/Service/kube-system/kumo-cloud-controller-manager-metrics"
		ccmSM  = "monitoring.coreos.com/v1/ServiceMonitor/kube-system/kumo-cloud-controller-manager"
	)
	for _, cloud := range clouds {
		for chart, keys := range map[string][]string{csiChart: {csiSvc, csiSM}, ccmChart: {ccmSvc, ccmSM}} {
			objs := mustRender(t, chart, map[string]any{"cloud": cloud})
			for _, k := range keys {
				if _, ok := objs[k]; ok {
					t.Errorf("%s/%s: %s rendered by default", chart, cloud, k)
				}
			}
		}
	}

	t.Run("csi/service-only", func(t *testing.T) {
		objs := mustRender(t, csiChart, map[string]any{"cloud": "nifcloud", "controller": map[string]any{"metricsPort": 9100, "metricsService": map[string]any{"enabled": true}}})
		checkMetricsService(t, objs, csiSvc, "kumo-csi-controller", "csi-driver", 9100)
		if _, ok := objs[csiSM]; ok {
			t.Errorf("ServiceMonitor rendered without serviceMonitor.enabled")
		}
	})
	t.Run("csi/servicemonitor-http", func(t *testing.T) {
		objs := mustRender(t, csiChart, map[string]any{"cloud": "openstack", "controller": map[string]any{"serviceMonitor": map[string]any{
			"enabled": true, "interval": "30s", "scrapeTimeout": "10s", "labels": map[string]any{"release": "prom"},
		}}})
		checkMetricsService(t, objs, csiSvc, "kumo-csi-controller", "csi-driver", 8080)
		ep := serviceMonitorEndpoint(t, objs, csiSM, csiSvc)
		if ep["scheme"] != "http" || ep["interval"] != "30s" || ep["scrapeTimeout"] != "10s" || ep["tlsConfig"] != nil {
			t.Errorf("endpoint %v", ep)
		}
		if objs[csiSM].GetLabels()["release"] != "prom" {
			t.Errorf("ServiceMonitor labels %v lack release=prom", objs[csiSM].GetLabels())
		}
	})
	t.Run("csi/servicemonitor-https", func(t *testing.T) {
		objs := mustRender(t, csiChart, map[string]any{"cloud": "openstack", "controller": map[string]any{
			"metricsTLS":     map[string]any{"secretName": "kumo-csi-metrics-tls"},
			"serviceMonitor": map[string]any{"enabled": true, "tlsConfig": map[string]any{"serverName": "kumo-csi-controller-metrics.kube-system.svc"}},
		}})
		ep := serviceMonitorEndpoint(t, objs, csiSM, csiSvc)
		tls, _ := ep["tlsConfig"].(map[string]any)
		if ep["scheme"] != "https" || tls["serverName"] != "kumo-csi-controller-metrics.kube-system.svc" {
			t.Errorf("with metricsTLS the endpoint must be https with the given tlsConfig: %v", ep)
		}
	})
	t.Run("ccm/servicemonitor", func(t *testing.T) {
		objs := mustRender(t, ccmChart, map[string]any{"cloud": "nifcloud", "serviceMonitor": map[string]any{"enabled": true}})
		checkMetricsService(t, objs, ccmSvc, "kumo-cloud-controller-manager", "cloud-controller-manager", 10258)
		ep := serviceMonitorEndpoint(t, objs, ccmSM, ccmSvc)
		tls, _ := ep["tlsConfig"].(map[string]any)
		if ep["scheme"] != "https" || ep["bearerTokenFile"] != "/var/run/secrets/kubernetes.io/serviceaccount/token" || tls["insecureSkipVerify"] != true {
			t.Errorf("CCM endpoint %v: the secure port needs https and a token", ep)
		}
	})
}

// TestChartVolumeSnapshotClasses: OpenStack renders the listed classes
// with their parameters as given; NIFCLOUD, which has no snapshots,
// refuses them; none by default.
func TestChartVolumeSnapshotClasses(t *testing.T) {
	classes := []any{
		map[string]any{"name": "kumo-cinder-snapshot", "isDefault": true, "parameters": map[string]any{"type": "snapshot", "force-create": "true"}},
		map[string]any{"name": "kumo-cinder-backup", "deletionPolicy": "Retain", "parameters": map[string]any{"type": "backup", "backup-max-duration-seconds-per-gb": "30", "availability": "nova"}},
	}
	for _, cloud := range clouds {
		if n := len(mustRender(t, csiChart, map[string]any{"cloud": cloud}).ofKind("VolumeSnapshotClass")); n != 0 {
			t.Errorf("%s: %d VolumeSnapshotClasses by default", cloud, n)
		}
	}
	objs := mustRender(t, csiChart, map[string]any{"cloud": "openstack", "volumeSnapshotClasses": classes})
	snap, ok := objs["snapshot.storage.k8s.io/v1/VolumeSnapshotClass//kumo-cinder-snapshot"]
	if !ok {
		t.Fatalf("no VolumeSnapshotClass kumo-cinder-snapshot: %v", objs.keys())
	}
	backup := objs["snapshot.storage.k8s.io/v1/VolumeSnapshotClass//kumo-cinder-backup"]
	for _, tc := range []struct {
		u          *unstructured.Unstructured
		policy     string
		isDefault  bool
		parameters map[string]string
	}{
		{snap, "Delete", true, map[string]string{"type": "snapshot", "force-create": "true"}},
		{backup, "Retain", false, map[string]string{"type": "backup", "backup-max-duration-seconds-per-gb": "30", "availability": "nova"}},
	} {
		if tc.u == nil {
			t.Fatalf("missing class: %v", objs.keys())
		}
		params, _, _ := unstructured.NestedStringMap(tc.u.Object, "parameters")
		if tc.u.Object["driver"] != "cinder.csi.openstack.org" || tc.u.Object["deletionPolicy"] != tc.policy || !maps.Equal(params, tc.parameters) ||
			(tc.u.GetAnnotations()["snapshot.storage.kubernetes.io/is-default-class"] == "true") != tc.isDefault {
			t.Errorf("%s rendered as %s", tc.u.GetName(), toJSON(tc.u.Object))
		}
	}
	_, err := renderChart(csiChart, "kube-system", map[string]any{"cloud": "nifcloud", "volumeSnapshotClasses": classes})
	if err == nil || !strings.Contains(err.Error(), "volumeSnapshotClasses") || !strings.Contains(err.Error(), "openstack") {
		t.Errorf("nifcloud with volumeSnapshotClasses: got %v, want an error naming volumeSnapshotClasses and openstack", err)
	}
}
