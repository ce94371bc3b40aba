package packaging

// requiredPermissions is what each ServiceAccount must (and must not) be
// allowed to do. The "allow" rows come from what k8s.io/cloud-provider's
// app and controllers and the CSI sidecars call; the "deny" rows are the
// least-privilege promises of the manifests.
func requiredPermissions() []permission {
	const ns = "kube-system"
	var out []permission
	add := func(sa string, allow bool, why string, rows ...[4]string) {
		for _, r := range rows {
			p := permission{sa: sa, verb: r[0], group: r[1], resource: r[2], allow: allow, why: why}
			if i := indexByte(p.resource, '/'); i >= 0 {
				p.resource, p.sub = p.resource[:i], p.resource[i+1:]
			}
			if r[3] != "" {
				p.namespace = ns
				if r[3] != ns {
					p.namespace, p.name = splitNsName(r[3])
				}
			}
			out = append(out, p)
		}
	}
	row := func(verb, group, resource, where string) [4]string { return [4]string{verb, group, resource, where} }

	ccm := "kumo-cloud-controller-manager"
	add(ccm, true, "shared informers",
		row("list", "", "nodes", ""), row("watch", "", "nodes", ""), row("list", "", "services", ""), row("watch", "", "services", ""))
	add(ccm, true, "leader election lease kube-system/cloud-controller-manager",
		row("create", "coordination.k8s.io", "leases", ns),
		row("get", "coordination.k8s.io", "leases", "kube-system/cloud-controller-manager"),
		row("update", "coordination.k8s.io", "leases", "kube-system/cloud-controller-manager"))
	for _, sa := range []string{"kumo-cloud-node-controller", "kumo-cloud-node-lifecycle-controller", "kumo-service-controller", "kumo-route-controller", "nifcloud-cloud-provider", "openstack-cloud-provider"} {
		add(ccm, true, "--use-service-account-credentials: the controllers' own ServiceAccounts",
			row("get", "", "serviceaccounts", ns+"/"+sa), row("create", "", "serviceaccounts/token", ns+"/"+sa))
	}
	add(ccm, false, "no ServiceAccount creation or other ServiceAccounts' tokens (token escalation)",
		row("create", "", "serviceaccounts", ns), row("get", "", "serviceaccounts", ns), row("list", "", "serviceaccounts", ns),
		row("get", "", "serviceaccounts", ns+"/clusterrole-aggregation-controller"),
		row("create", "", "serviceaccounts/token", ns+"/clusterrole-aggregation-controller"),
		row("create", "", "serviceaccounts/token", ns+"/kumo-csi-controller"))
	add(ccm, true, "delegated authentication/authorization of the secure port",
		row("get", "", "configmaps", "kube-system/extension-apiserver-authentication"),
		row("create", "authentication.k8s.io", "tokenreviews", ""),
		row("create", "authorization.k8s.io", "subjectaccessreviews", ""))
	add(ccm, true, "event recorder", row("create", "", "events", "default/x"), row("patch", "", "events", "default/x"))
	add(ccm, false, "least privilege",
		row("delete", "", "nodes", ""), row("update", "", "services", ""), row("get", "", "secrets", ns),
		row("create", "", "serviceaccounts/token", "default/x"), row("update", "coordination.k8s.io", "leases", "kube-system/other"))

	node := "kumo-cloud-node-controller"
	add(node, true, "cloud node controller initializes Nodes",
		row("get", "", "nodes", ""), row("update", "", "nodes", ""), row("patch", "", "nodes", ""),
		row("patch", "", "nodes/status", ""), row("update", "", "nodes/status", ""), row("create", "", "events", "default/x"))
	add(node, false, "least privilege", row("delete", "", "nodes", ""), row("update", "", "services", ""))

	lifecycle := "kumo-cloud-node-lifecycle-controller"
	add(lifecycle, true, "node lifecycle controller deletes gone Nodes and taints shut-down ones",
		row("list", "", "nodes", ""), row("delete", "", "nodes", ""), row("patch", "", "nodes", ""), row("create", "", "events", "default/x"))
	add(lifecycle, false, "least privilege", row("update", "", "services", ""), row("patch", "", "nodes/status", ""))

	svc := "kumo-service-controller"
	add(svc, true, "service controller reconciles load balancers",
		row("list", "", "services", ""), row("watch", "", "services", ""), row("patch", "", "services", ""), row("update", "", "services", ""),
		row("patch", "", "services/status", ""), row("update", "", "services/status", ""),
		row("list", "", "nodes", ""), row("create", "", "events", "default/x"), row("update", "", "events", "default/x"))
	add(svc, false, "least privilege", row("delete", "", "nodes", ""), row("update", "", "nodes", ""), row("get", "", "secrets", "default/x"))

	route := "kumo-route-controller"
	add(route, true, "route controller marks NetworkUnavailable",
		row("list", "", "nodes", ""), row("patch", "", "nodes/status", ""), row("create", "", "events", "default/x"))
	add(route, false, "least privilege", row("update", "", "services", ""), row("delete", "", "nodes", ""))

	for _, prov := range []string{"nifcloud-cloud-provider", "openstack-cloud-provider"} {
		add(prov, true, "the provider's Warning events", row("create", "", "events", "default/x"), row("patch", "", "events", "default/x"))
		add(prov, false, "least privilege", row("list", "", "nodes", ""), row("update", "", "services", ""))
	}

	csi := "kumo-csi-controller"
	add(csi, true, "external-provisioner",
		row("create", "", "persistentvolumes", ""), row("delete", "", "persistentvolumes", ""), row("update", "", "persistentvolumeclaims", "default/x"),
		row("list", "storage.k8s.io", "storageclasses", ""), row("list", "storage.k8s.io", "csinodes", ""), row("get", "", "nodes", ""),
		row("get", "snapshot.storage.k8s.io", "volumesnapshots", "default/x"), row("create", "", "events", "default/x"))
	add(csi, true, "external-attacher",
		row("patch", "storage.k8s.io", "volumeattachments", ""), row("patch", "storage.k8s.io", "volumeattachments/status", ""),
		row("patch", "", "persistentvolumes", ""))
	add(csi, true, "external-resizer",
		row("patch", "", "persistentvolumeclaims/status", "default/x"), row("list", "", "pods", ""),
		row("list", "storage.k8s.io", "volumeattributesclasses", ""))
	add(csi, true, "external-snapshotter (OpenStack)",
		row("update", "snapshot.storage.k8s.io", "volumesnapshotcontents/status", ""), row("list", "snapshot.storage.k8s.io", "volumesnapshotclasses", ""))
	add(csi, true, "sidecar leader election", row("create", "coordination.k8s.io", "leases", ns), row("update", "coordination.k8s.io", "leases", ns))
	add(csi, false, "least privilege",
		row("get", "", "secrets", ns), row("delete", "", "nodes", ""), row("create", "", "pods", "default/x"),
		row("update", "coordination.k8s.io", "leases", "default/x"))

	add("kumo-csi-node", true, "the node plugin reads its Node's zone label and removes its startup taint (taint_permissions_test.go)",
		row("get", "", "nodes", ""), row("patch", "", "nodes", ""), row("get", "storage.k8s.io", "csinodes", ""))
	add("kumo-csi-node", false, "the node plugin reads nothing else",
		row("list", "", "nodes", ""), row("update", "", "nodes", ""),
		row("get", "", "secrets", "kube-system/nifcloud-credentials"), row("list", "", "persistentvolumes", ""), row("create", "", "events", "default/x"))
	return out
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// splitNsName splits "namespace/name"; a name of "x" means any object.
func splitNsName(s string) (string, string) {
	i := indexByte(s, '/')
	ns, name := s[:i], s[i+1:]
	if name == "x" {
		name = ""
	}
	return ns, name
}
