package packaging

import (
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// TestChartStorageCapacity: controller.storageCapacity.enabled turns on
// csi-provisioner's capacity tracking (flags, downward-API env, a Role for
// CSIStorageCapacity objects bound to the controller's ServiceAccount)
// and the CSIDriver's storageCapacity; off, nothing of it renders, and on
// NIFCLOUD, which reports no capacity, rendering fails naming the value.
func TestChartStorageCapacity(t *testing.T) {
	const driverKey = "storage.k8s.io/v1/CSIDriver//cinder.csi.openstack.org"
	off := mustRender(t, csiChart, map[string]any{"cloud": "openstack"})
	if d := convert[storagev1.CSIDriver](t, off[driverKey]); d.Spec.StorageCapacity != nil && *d.Spec.StorageCapacity {
		t.Errorf("storageCapacity set by default")
	}
	if got := argsWithPrefix(containerOf(t, podSpecs(t, off)["kumo-csi-controller"], "csi-provisioner").Args, "--enable-capacity"); len(got) > 0 {
		t.Errorf("defaults pass %v", got)
	}

	on := mustRender(t, csiChart, map[string]any{"cloud": "openstack", "controller": map[string]any{"storageCapacity": map[string]any{"enabled": true}}})
	prov := containerOf(t, podSpecs(t, on)["kumo-csi-controller"], "csi-provisioner")
	for _, want := range []string{"--enable-capacity", "--capacity-ownerref-level=2"} {
		if !slices.Contains(prov.Args, want) {
			t.Errorf("provisioner args %v lack %s", prov.Args, want)
		}
	}
	env := map[string]string{}
	for _, e := range prov.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if env["NAMESPACE"] != "metadata.namespace" || env["POD_NAME"] != "metadata.name" {
		t.Errorf("provisioner env %v, want NAMESPACE and POD_NAME from the downward API", prov.Env)
	}
	if d := convert[storagev1.CSIDriver](t, on[driverKey]); d.Spec.StorageCapacity == nil || !*d.Spec.StorageCapacity {
		t.Errorf("CSIDriver storageCapacity %v, want true", d.Spec.StorageCapacity)
	}
	role, ok := on["rbac.authorization.k8s.io/v1/Role/kube-system/kumo:csi-provisioner-capacity"]
	if !ok {
		t.Fatalf("no capacity Role in %v", on.keys())
	}
	granted := false
	for _, r := range convert[rbacv1.Role](t, role).Rules {
		if slices.Contains(r.Resources, "csistoragecapacities") && slices.Contains(r.Verbs, "create") && slices.Contains(r.Verbs, "delete") {
			granted = true
		}
	}
	if !granted {
		t.Errorf("the Role does not let the provisioner manage csistoragecapacities")
	}
	rb := convert[rbacv1.RoleBinding](t, on["rbac.authorization.k8s.io/v1/RoleBinding/kube-system/kumo:csi-provisioner-capacity"])
	if len(rb.Subjects) != 1 || rb.Subjects[0].Name != "kumo-csi-controller" {
		t.Errorf("RoleBinding subjects %v, want the controller ServiceAccount", rb.Subjects)
	}

	_, err := renderChart(csiChart, "kube-system", map[string]any{"cloud": "nifcloud", "controller": map[string]any{"storageCapacity": map[string]any{"enabled": true}}})
	if err == nil || !strings.Contains(err.Error(), "controller.storageCapacity.enabled") {
		t.Errorf("NIFCLOUD with storage capacity: %v, want an error naming the value", err)
	}
}
