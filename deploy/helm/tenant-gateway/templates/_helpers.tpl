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

{{/*
matchConditions of the two policies, built from .Values.policy.settings exactly as
tgw_core::admission::match_conditions builds them (deploy/policy/*.yaml carry the text for the
defaults; `make chart-check` compares the renders, and policy/tests/match_conditions.rs compares
renders with other settings). Lists and strings go through toJson, which is also a CEL literal.
Unset settings take the policy's defaults (an explicitly empty list stays empty).
*/}}
{{- define "tenant-gateway.celTrusted" -}}
{{- $s := .Values.policy.settings | default dict -}}
{{- $users := $s.trustedUsers -}}
{{- if kindIs "invalid" $users }}{{ $users = list }}{{ end -}}
{{- $groups := $s.trustedGroups -}}
{{- if kindIs "invalid" $groups }}{{ $groups = list "system:masters" "system:serviceaccounts:cozy-system" "system:serviceaccounts:cozy-cert-manager" "system:serviceaccounts:cozy-fluxcd" "system:serviceaccounts:kube-system" }}{{ end -}}
request.userInfo.username in {{ $users | toJson }} || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in {{ $groups | toJson }}))
{{- end }}

{{- define "tenant-gateway.celTenantPrefix" -}}
{{- $s := .Values.policy.settings | default dict -}}
{{- $prefix := $s.tenantNamespacePrefix -}}
{{- if kindIs "invalid" $prefix }}{{ $prefix = "tenant-" }}{{ end -}}
{{- $prefix | toJson -}}
{{- end }}

{{- define "tenant-gateway.hostnamesMatchConditions" -}}
- name: tenant-namespaces-only
  expression: {{ printf "request.namespace.startsWith(%s)" (include "tenant-gateway.celTenantPrefix" .) | toJson }}
{{- end }}

{{- define "tenant-gateway.identityMatchConditions" -}}
{{- $s := .Values.policy.settings | default dict -}}
{{- $protected := $s.protectedNamespaceLabels -}}
{{- if kindIs "invalid" $protected -}}
{{- $protected = list (default "namespace.cozystack.io/host" $s.hostLabel) (default "namespace.cozystack.io/gateway" $s.gatewayLabel) -}}
{{- end -}}
{{- $trusted := include "tenant-gateway.celTrusted" . -}}
{{- $prefix := include "tenant-gateway.celTenantPrefix" . -}}
{{- $new := "has(object.metadata.labels) && k in object.metadata.labels ? object.metadata.labels[k] : \"~\"" -}}
{{- $old := "has(oldObject.metadata.labels) && k in oldObject.metadata.labels ? oldObject.metadata.labels[k] : \"~\"" -}}
- name: namespaces-protected-label-changes-by-untrusted-callers
  expression: {{ printf "request.resource.group != \"\" || request.resource.resource != \"namespaces\" || (!(%s) && %s.exists(k, (%s) != (request.operation == \"UPDATE\" && %s)))" $trusted ($protected | toJson) $new $old | toJson }}
- name: gateways-in-tenant-namespaces
  expression: {{ printf "request.resource.group != \"gateway.networking.k8s.io\" || request.resource.resource != \"gateways\" || request.namespace.startsWith(%s)" $prefix | toJson }}
- name: issuers-in-tenant-namespaces-by-untrusted-callers
  expression: {{ printf "request.resource.group != \"cert-manager.io\" || request.resource.resource != \"issuers\" || (request.namespace.startsWith(%s) && !(%s))" $prefix $trusted | toJson }}
{{- end }}
