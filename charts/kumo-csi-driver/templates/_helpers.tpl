{{/* Common labels; fixed names keep the objects identical to deploy/. */}}
{{- define "kumo-csi.labels" -}}
app.kubernetes.io/name: kumo-csi-driver
app.kubernetes.io/part-of: kumo
{{- end }}

{{/* The CSI driver name of the cloud (drop-in with the reference drivers). */}}
{{- define "kumo-csi.driverName" -}}
{{- if eq .Values.cloud "nifcloud" }}additional-storage.csi.nifcloud.com{{ else }}cinder.csi.openstack.org{{ end }}
{{- end }}

{{- define "kumo-csi.secretName" -}}
{{- if .Values.secret.name }}{{ .Values.secret.name }}{{ else if eq .Values.cloud "nifcloud" }}nifcloud-credentials{{ else }}cloud-config{{ end }}
{{- end }}

{{/* The RBAC and leader election are written for kube-system. */}}
{{- define "kumo-csi.checkNamespace" -}}
{{- if ne .Release.Namespace "kube-system" }}
{{- fail (printf "kumo-csi-driver must be installed into kube-system (got namespace %q)" .Release.Namespace) }}
{{- end }}
{{- end }}

{{/* Hardened securityContext of every unprivileged container. */}}
{{- define "kumo-csi.restricted" -}}
securityContext:
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: [ALL]
{{- end }}

{{/* NIFCLOUD_* env from the Secret (controller only; the node gets none). */}}
{{- define "kumo-csi.nifcloudEnv" -}}
{{- $secret := include "kumo-csi.secretName" .root }}
{{- range $e := list (list "NIFCLOUD_ACCESS_KEY_ID" "access_key_id" $.optional) (list "NIFCLOUD_SECRET_ACCESS_KEY" "secret_access_key" $.optional) (list "NIFCLOUD_REGION" "region" $.optional) (list "NIFCLOUD_ENDPOINT" "endpoint" true) }}
- name: {{ index $e 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ index $e 1 }}
      {{- if index $e 2 }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
