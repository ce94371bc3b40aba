{{/* Common labels; fixed names keep the objects identical to deploy/. */}}
{{- define "kumo-keystone-auth.labels" -}}
app.kubernetes.io/name: kumo-keystone-auth
app.kubernetes.io/part-of: kumo
{{- end }}

{{/* The policy as the ConfigMap holds it: a string as given, rules as JSON. */}}
{{- define "kumo-keystone-auth.policy" -}}
{{- if kindIs "string" .Values.policy }}{{ .Values.policy }}{{ else }}{{ toPrettyJson .Values.policy }}{{ end }}
{{- end }}
