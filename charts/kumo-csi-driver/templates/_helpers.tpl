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

{{/* --v of one container: its own logVerbosity, else the global one. */}}
{{- define "kumo-csi.v" -}}
--v={{ if hasKey .c "logVerbosity" }}{{ .c.logVerbosity }}{{ else }}{{ .root.Values.logVerbosity }}{{ end }}
{{- end }}

{{/* --logging-format of the driver; text is its default, so nothing. */}}
{{- define "kumo-csi.loggingFormat" -}}
{{- if ne .Values.logging.format "text" }}
- --logging-format={{ .Values.logging.format }}
{{- end }}
{{- end }}

{{/* Lease tuning of the leader-elected sidecars; unset flags keep the
sidecars' defaults (15s/10s/5s). */}}
{{- define "kumo-csi.leaderElection" -}}
- --leader-election=true
- --leader-election-namespace=kube-system
{{- with .Values.controller.leaderElection }}
{{- with .leaseDuration }}
- --leader-election-lease-duration={{ . }}
{{- end }}
{{- with .renewDeadline }}
- --leader-election-renew-deadline={{ . }}
{{- end }}
{{- with .retryPeriod }}
- --leader-election-retry-period={{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* A controller sidecar on the CSI socket: name, key (of .Values.sidecars),
args (before leader election), leaderElected, root. */}}
{{- define "kumo-csi.sidecar" -}}
{{- $s := index .root.Values.sidecars .key }}
- name: {{ .name }}
  image: {{ $s.image }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args:
    {{- range .args }}
    - {{ . }}
    {{- end }}
    {{- if .leaderElected }}
    {{- include "kumo-csi.leaderElection" .root | nindent 4 }}
    {{- end }}
    - {{ include "kumo-csi.v" (dict "c" $s "root" .root) }}
    {{- range $s.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  {{- with .env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- include "kumo-csi.restricted" . | nindent 2 }}
  volumeMounts:
    - name: socket-dir
      mountPath: /csi
{{- end }}

{{/* podLabels may not change the selector labels of the workload. */}}
{{- define "kumo-csi.checkPodLabels" -}}
{{- range $k := list "app.kubernetes.io/name" "app.kubernetes.io/component" }}
{{- if hasKey $.labels $k }}
{{- fail (printf "%s.podLabels must not set %s: it is part of the selector" $.where $k) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod-level scheduling and pull options shared by controller and node:
.p is .Values.controller or .Values.node. */}}
{{- define "kumo-csi.podOptions" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .p.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .p.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The node plugin's startup taint, removed by the plugin once it serves. */}}
{{- define "kumo-csi.agentNotReadyTaint" -}}
{{ include "kumo-csi.driverName" . }}/agent-not-ready
{{- end }}

{{/* node.tolerations plus one for the startup taint unless a toleration
already covers it for good (Exists without key, or on that key, with no
tolerationSeconds): the plugin must start on a node that has the taint. */}}
{{- define "kumo-csi.nodeTolerations" -}}
{{- $key := include "kumo-csi.agentNotReadyTaint" . }}
{{- $tols := .Values.node.tolerations | default list }}
{{- $covered := false }}
{{- range $tols }}
{{- if and (eq (.operator | default "Equal") "Exists") (or (not .key) (eq .key $key)) (or (not .effect) (eq .effect "NoExecute")) (not (hasKey . "tolerationSeconds")) }}
{{- $covered = true }}
{{- end }}
{{- end }}
{{- if not $covered }}
{{- $tols = append $tols (dict "key" $key "operator" "Exists" "effect" "NoExecute") }}
{{- end }}
{{- toYaml $tols }}
{{- end }}
