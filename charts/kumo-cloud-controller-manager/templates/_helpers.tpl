{{/* Common labels; fixed names keep the objects identical to deploy/. */}}
{{- define "kumo-ccm.labels" -}}
app.kubernetes.io/name: kumo-cloud-controller-manager
app.kubernetes.io/part-of: kumo
{{- end }}

{{/* Name of the credentials Secret. */}}
{{- define "kumo-ccm.secretName" -}}
{{- if .Values.secret.name }}{{ .Values.secret.name }}{{ else if eq .Values.cloud "nifcloud" }}nifcloud-credentials{{ else }}cloud-config{{ end }}
{{- end }}

{{/* The CCM finds its controllers' ServiceAccounts in kube-system only. */}}
{{- define "kumo-ccm.checkNamespace" -}}
{{- if ne .Release.Namespace "kube-system" }}
{{- fail (printf "kumo-cloud-controller-manager must be installed into kube-system (got namespace %q)" .Release.Namespace) }}
{{- end }}
{{- end }}
