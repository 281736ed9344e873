{{/* Chart name, overridable. */}}
{{- define "tenant-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource-name prefix: fullnameOverride, else the release name (with the chart name if absent). */}}
{{- define "tenant-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Common labels. */}}
{{- define "tenant-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tenant-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tenant-gateway
{{- end }}

{{/* Selector labels (immutable on the Deployment: keep them stable). */}}
{{- define "tenant-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tenant-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/* The ServiceAccount the controller runs as. */}}
{{- define "tenant-gateway.serviceAccountName" -}}
{{- required "serviceAccount.name is required" .Values.serviceAccount.name }}
{{- end }}

{{/* Controller image reference: digest wins over tag; tag defaults to appVersion. */}}
{{- define "tenant-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Settings shared by both ClusterAdmissionPolicies (the rules differ). */}}
{{- define "tenant-gateway.policySpec" -}}
module: {{ required "policy.module is required" .Values.policy.module }}
{{- with .Values.policy.policyServer }}
policyServer: {{ . }}
{{- end }}
mode: {{ .Values.policy.mode }}
mutating: false
failurePolicy: {{ .Values.policy.failurePolicy }}
timeoutSeconds: {{ .Values.policy.timeoutSeconds }}
settings:
  {{- toYaml .Values.policy.settings | nindent 2 }}
{{- end }}
