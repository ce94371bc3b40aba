package packaging

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// credentialSecrets are the Secrets holding cloud credentials
// (deploy/credentials): the NIFCLOUD access keys and OpenStack's cloud.conf.
var credentialSecrets = map[string]bool{"nifcloud-credentials": true, "cloud-config": true}

// nodeCredentialExceptions are credential references the node plugin
// still has, with the reason. OpenStack's node reads cloud.conf's
// [Metadata] and [BlockStorage] (cmd/csi-driver/openstack.go requires
// --cloud-config in every mode), and cloud.conf is the credentials Secret.
var nodeCredentialExceptions = map[string]string{
	"openstack/volume/cloud-config": "node reads [Metadata] and [BlockStorage] of cloud.conf",
}

// secretRefs lists every Secret a pod spec can read: env, envFrom and
// volumes (secret and projected), as "env/NAME->secret" or "volume/NAME".
func secretRefs(spec corev1.PodSpec) map[string]string {
	out := map[string]string{}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out[c.Name+"/env/"+e.Name] = e.ValueFrom.SecretKeyRef.Name
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				out[c.Name+"/envFrom"] = e.SecretRef.Name
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			out["volume/"+v.Name] = v.Secret.SecretName
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					out["volume/"+v.Name] = s.Secret.Name
				}
			}
		}
	}
	return out
}

// TestNodeGetsNoCloudCredentials: the node DaemonSet (privileged, on every
// node) never references the cloud credentials Secret, in either install
// path; NIFCLOUD's node finds its zone from --zone, NIFCLOUD_ZONE or its
// Node object, for which it has its own token and get nodes.
func TestNodeGetsNoCloudCredentials(t *testing.T) {
	for _, cloud := range clouds {
		renders := map[string]objects{"kustomize": renderKustomize(t, "deploy/csi/overlays/"+cloud)}
		helm, err := renderChart("charts/kumo-csi-driver", "kube-system", fullChartValues("kumo-csi-driver", cloud))
		if err != nil {
			t.Fatal(err)
		}
		renders["helm"] = helm
		for how, objs := range renders {
			t.Run(cloud+"/"+how, func(t *testing.T) {
				node, ok := podSpecs(t, objs)["kumo-csi-node"]
				if !ok {
					t.Fatal("no kumo-csi-node DaemonSet")
				}
				for ref, secret := range secretRefs(node) {
					if !credentialSecrets[secret] {
						continue
					}
					if why, ok := nodeCredentialExceptions[cloud+"/"+ref]; ok {
						t.Logf("%s reads Secret %s: known exception (%s)", ref, secret, why)
						continue
					}
					t.Errorf("node DaemonSet %s reads Secret %s", ref, secret)
				}
				var driver *corev1.Container
				for i := range node.Containers {
					if node.Containers[i].Name == "csi-driver" {
						driver = &node.Containers[i]
					}
				}
				if driver == nil {
					t.Fatal("no csi-driver container")
				}
				nodeName := false
				for _, e := range driver.Env {
					if e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
						nodeName = true
					}
				}
				if !nodeName {
					t.Errorf("csi-driver has no NODE_NAME from spec.nodeName: %v", driver.Env)
				}
				if cloud == "nifcloud" && !mountsToken(node, *driver) {
					t.Errorf("csi-driver has no ServiceAccount token to read its Node's zone label")
				}
			})
		}
	}
}

// mountsToken reports whether ctr gets a ServiceAccount token, either
// automounted or projected into the default path.
func mountsToken(spec corev1.PodSpec, ctr corev1.Container) bool {
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		return true
	}
	for _, m := range ctr.VolumeMounts {
		if m.MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.Projected != nil {
				for _, s := range v.Projected.Sources {
					if s.ServiceAccountToken != nil {
						return true
					}
				}
			}
		}
	}
	return false
}

// listenFlags are the flags that set a health or metrics listen address.
var listenFlags = regexp.MustCompile(`^--(http-endpoint|metrics-address|health-port|bind-address|secure-port|port)=(.*)$`)

// TestListenAddresses: no health or metrics endpoint listens on every
// interface in plain HTTP. Each binds 127.0.0.1 (probed by the kubelet
// from the host network), the pod IP via the downward API, or serves TLS
// (the CCM's --secure-port with delegated authentication and
// authorization; the CSI driver's --http-tls-cert-file).
func TestListenAddresses(t *testing.T) {
	for _, c := range components {
		for _, cloud := range clouds {
			renders := map[string]objects{"kustomize": renderKustomize(t, "deploy/"+c.overlay+"/overlays/"+cloud)}
			for name, vals := range map[string]map[string]any{"helm": chartValues(cloud), "helm-full": fullChartValues(c.chart, cloud)} {
				objs, err := renderChart("charts/"+c.chart, "kube-system", vals)
				if err != nil {
					t.Fatal(err)
				}
				renders[name] = objs
			}
			for how, objs := range renders {
				t.Run(c.name+"/"+cloud+"/"+how, func(t *testing.T) {
					for pod, spec := range podSpecs(t, objs) {
						for _, ctr := range spec.Containers {
							checkListen(t, pod, spec, ctr)
						}
					}
				})
			}
		}
	}
}

func checkListen(t *testing.T, pod string, spec corev1.PodSpec, ctr corev1.Container) {
	t.Helper()
	id := pod + "/" + ctr.Name
	env := map[string]string{}
	for _, e := range ctr.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	tls := false
	for _, a := range ctr.Args {
		if strings.HasPrefix(a, "--http-tls-cert-file=") || strings.HasPrefix(a, "--secure-port=") || strings.HasPrefix(a, "--tls-cert-file=") {
			tls = true
		}
	}
	for _, a := range ctr.Args {
		m := listenFlags.FindStringSubmatch(a)
		if m == nil {
			continue
		}
		flag, val := m[1], m[2]
		switch flag {
		case "secure-port":
			continue // TLS with delegated authn/authz
		case "port":
			if val != "0" {
				t.Errorf("%s: insecure serving %s", id, a)
			}
			continue
		}
		host := val
		if flag != "bind-address" {
			h, port, err := net.SplitHostPort(val)
			if err != nil {
				t.Errorf("%s: %s: %v", id, a, err)
				continue
			}
			if _, err := strconv.Atoi(port); err != nil {
				t.Errorf("%s: %s: port %q", id, a, port)
			}
			host = h
		}
		switch {
		case host == "127.0.0.1" || host == "::1" || host == "localhost":
		case strings.HasPrefix(host, "$(") && strings.HasSuffix(host, ")"):
			v := strings.TrimSuffix(strings.TrimPrefix(host, "$("), ")")
			if fp := env[v]; fp != "status.podIP" && fp != "status.hostIP" {
				t.Errorf("%s: %s: $(%s) is not the pod or host IP from the downward API (fieldPath %q)", id, a, v, fp)
			}
		case tls && (host == "" || host == "0.0.0.0" || host == "::"):
			// TLS on: every interface is acceptable.
		default:
			t.Errorf("%s: %s listens on every interface without TLS", id, a)
		}
	}
	// A probe must reach what is bound: localhost binds need the host
	// network (the kubelet probes from the host) and host 127.0.0.1.
	if p := ctr.LivenessProbe; p != nil && p.HTTPGet != nil && p.HTTPGet.Host != "" {
		if p.HTTPGet.Host == "127.0.0.1" && !spec.HostNetwork {
			t.Errorf("%s: probe to 127.0.0.1 from the kubelet cannot reach a pod-network container", id)
		}
	}
}
