package packaging

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/kumo-project/kumo/pkg/nifcloud"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// TestChartValuesRejected: values.schema.json and the templates refuse bad
// input with an error that names the value at fault.
func TestChartValuesRejected(t *testing.T) {
	cases := []struct {
		name, chart, namespace string
		values                 map[string]any
		want                   []string
	}{
		{"no cloud", "kumo-cloud-controller-manager", "kube-system", map[string]any{}, []string{"cloud"}},
		{"unknown cloud", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "aws"}, []string{"cloud", "nifcloud", "openstack"}},
		{"typo in key", "kumo-cloud-controller-manager", "kube-system", map[string]any{"cloud": "nifcloud", "extraArg": []any{"--x"}}, []string{"extraArg"}},
		{"extraArgs not a flag", "kumo-cloud-controller-manager", "kube-system", map[string]any{"cloud": "nifcloud", "extraArgs": []any{"v=4"}}, []string{"extraArgs"}},
		{"replicas zero", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "controller": map[string]any{"replicas": 0}}, []string{"replicas"}},
		{"relative kubeletDir", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "node": map[string]any{"kubeletDir": "var/lib/kubelet"}}, []string{"kubeletDir"}},
		{"bad fstype", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "nifcloud", "controller": map[string]any{"defaultFsType": "btrfs"}}, []string{"defaultFsType"}},
		{"ccm outside kube-system", "kumo-cloud-controller-manager", "default", map[string]any{"cloud": "nifcloud"}, []string{"kube-system", "default"}},
		{"csi outside kube-system", "kumo-csi-driver", "storage", map[string]any{"cloud": "nifcloud"}, []string{"kube-system", "storage"}},
		{"secret without keys", "kumo-cloud-controller-manager", "kube-system", map[string]any{"cloud": "nifcloud", "secret": map[string]any{"create": true}}, []string{"secret.nifcloud.accessKeyID"}},
		{"secret without cloud.conf", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "secret": map[string]any{"create": true}}, []string{"secret.cloudConfig"}},
		{"bad logging format", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "logging": map[string]any{"format": "yaml"}}, []string{"format", "text", "json"}},
		{"ccm bad logging format", "kumo-cloud-controller-manager", "kube-system", map[string]any{"cloud": "openstack", "logging": map[string]any{"format": "JSON"}}, []string{"format"}},
		{"sidecar verbosity too high", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "sidecars": map[string]any{"attacher": map[string]any{"logVerbosity": 11}}}, []string{"logVerbosity"}},
		{"sidecar unknown key", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "sidecars": map[string]any{"resizer": map[string]any{"extraArg": []any{"--x"}}}}, []string{"extraArg"}},
		{"sidecar extraArgs not a flag", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "sidecars": map[string]any{"provisioner": map[string]any{"extraArgs": []any{"worker-threads=5"}}}}, []string{"extraArgs"}},
		{"lease not a duration", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "controller": map[string]any{"leaderElection": map[string]any{"leaseDuration": "30"}}}, []string{"leaseDuration"}},
		{"ccm lease not a duration", "kumo-cloud-controller-manager", "kube-system", map[string]any{"cloud": "openstack", "leaderElection": map[string]any{"retryPeriod": "two seconds"}}, []string{"retryPeriod"}},
		{"pdb bad maxUnavailable", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "controller": map[string]any{"podDisruptionBudget": map[string]any{"enabled": true, "maxUnavailable": "half"}}}, []string{"maxUnavailable"}},
		{"spread without topologyKey", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "controller": map[string]any{"topologySpreadConstraints": []any{map[string]any{"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}}}}, []string{"topologyKey"}},
		{"pull secret as string", "kumo-cloud-controller-manager", "kube-system", map[string]any{"cloud": "openstack", "imagePullSecrets": []any{"regcred"}}, []string{"imagePullSecrets"}},
		{"mount without path", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "node": map[string]any{"extraVolumeMounts": []any{map[string]any{"name": "ca"}}}}, []string{"mountPath"}},
		{"env without name", "kumo-cloud-controller-manager", "kube-system", map[string]any{"cloud": "openstack", "extraEnv": []any{map[string]any{"value": "x"}}}, []string{"name"}},
		{"pod annotation not a string", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "controller": map[string]any{"podAnnotations": map[string]any{"a": 1}}}, []string{"podAnnotations"}},
		{"snapshot class bad type", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "volumeSnapshotClasses": []any{map[string]any{"name": "x", "parameters": map[string]any{"type": "clone"}}}}, []string{"type", "snapshot", "backup"}},
		{"snapshot class without name", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "volumeSnapshotClasses": []any{map[string]any{"deletionPolicy": "Retain"}}}, []string{"name"}},
		{"snapshot class bad policy", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "volumeSnapshotClasses": []any{map[string]any{"name": "x", "deletionPolicy": "Keep"}}}, []string{"deletionPolicy"}},
		{"health monitor enabled not bool", "kumo-csi-driver", "kube-system", map[string]any{"cloud": "openstack", "sidecars": map[string]any{"healthMonitor": map[string]any{"enabled": "yes"}}}, []string{"enabled"}},
		{"servicemonitor bad interval", "kumo-cloud-controller-manager", "kube-system", map[string]any{"cloud": "openstack", "serviceMonitor": map[string]any{"enabled": true, "interval": "often"}}, []string{"interval"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart("charts/"+tc.chart, tc.namespace, tc.values)
			if err == nil {
				t.Fatalf("values %v were accepted", tc.values)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %q: %v", w, err)
				}
			}
		})
	}
}

// TestChartValuesApplied: optional values reach the objects they control.
func TestChartValuesApplied(t *testing.T) {
	objs, err := renderChart("charts/kumo-csi-driver", "kube-system", fullChartValues("kumo-csi-driver", "openstack"))
	if err != nil {
		t.Fatal(err)
	}
	node := podSpecs(t, objs)["kumo-csi-node"]
	var registrar []string
	for _, c := range node.Containers {
		if c.Name == "node-driver-registrar" {
			registrar = c.Args
		}
	}
	if want := "--kubelet-registration-path=/var/lib/k0s/kubelet/plugins/cinder.csi.openstack.org/csi.sock"; !slices.Contains(registrar, want) {
		t.Errorf("kubeletDir: registrar args %v lack %s", registrar, want)
	}
	if !slices.Contains(node.Containers[0].Args, "--max-volumes-per-node=10") {
		t.Errorf("node.extraArgs not applied: %v", node.Containers[0].Args)
	}
	sc, ok := objs["storage.k8s.io/v1/StorageClass//fast"]
	if !ok {
		t.Fatalf("extra StorageClass not rendered: %v", objs.keys())
	}
	got := convert[storagev1.StorageClass](t, sc)
	if got.Provisioner != "cinder.csi.openstack.org" || got.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" ||
		*got.ReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *got.AllowVolumeExpansion || got.Parameters["csi.storage.k8s.io/fstype"] != "xfs" {
		t.Errorf("StorageClass fast rendered as %+v", got)
	}
	if _, ok := objs["v1/Secret/kube-system/cloud-config"]; !ok {
		t.Errorf("secret.create did not render Secret cloud-config")
	}

	off, err := renderChart("charts/kumo-csi-driver", "kube-system", map[string]any{"cloud": "nifcloud", "exampleStorageClass": false})
	if err != nil {
		t.Fatal(err)
	}
	if scs := off.ofKind("StorageClass"); len(scs) != 0 {
		t.Errorf("exampleStorageClass=false still rendered %d StorageClasses", len(scs))
	}
}

// TestCredentialTemplates: the Secret templates under deploy/credentials
// hold exactly what the binaries read, checked with kumo's own config
// loaders.
func TestCredentialTemplates(t *testing.T) {
	t.Run("openstack", func(t *testing.T) {
		objs := renderKustomize(t, "deploy/credentials/openstack")
		sec := convert[corev1.Secret](t, objs["v1/Secret/kube-system/cloud-config"])
		conf, ok := sec.StringData["cloud.conf"]
		if !ok {
			t.Fatalf("Secret cloud-config has no cloud.conf: %v", sec.StringData)
		}
		cfg, err := config.Parse("cloud.conf", []byte(conf))
		if err != nil {
			t.Fatalf("template cloud.conf rejected by pkg/openstack/config: %v", err)
		}
		if !cfg.Global.UsesApplicationCredential() {
			t.Errorf("template should show application credentials, got %v", cfg.Global)
		}
		if len(cfg.Warnings) > 0 {
			t.Errorf("template cloud.conf has warnings: %v", cfg.Warnings)
		}
	})
	t.Run("nifcloud", func(t *testing.T) {
		secret := convert[corev1.Secret](t, renderKustomize(t, "deploy/credentials/nifcloud")["v1/Secret/kube-system/nifcloud-credentials"])
		// Resolve the CCM's environment from the Secret exactly as the
		// kubelet would, then load it like the binary does.
		ccm := podSpecs(t, renderKustomize(t, "deploy/ccm/overlays/nifcloud"))["kumo-cloud-controller-manager"]
		env := map[string]string{}
		for _, e := range ccm.Containers[0].Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != secret.Name {
				t.Errorf("env %s reads Secret %s, template is %s", e.Name, ref.Name, secret.Name)
			}
			v, ok := secret.StringData[ref.Key]
			if !ok && (ref.Optional == nil || !*ref.Optional) {
				t.Errorf("env %s needs key %s, missing from the template", e.Name, ref.Key)
			}
			env[e.Name] = v
		}
		cfg, err := nifcloud.ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("template credentials rejected by pkg/nifcloud: %v", err)
		}
		if cfg.Region != secret.StringData["region"] {
			t.Errorf("region %q, want %q", cfg.Region, secret.StringData["region"])
		}
	})
}
