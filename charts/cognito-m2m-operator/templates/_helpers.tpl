{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "cognito-m2m-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects; the release name alone when it already contains the chart name. */}}
{{- define "cognito-m2m-operator.fullname" -}}
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

{{- define "cognito-m2m-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object of the release. */}}
{{- define "cognito-m2m-operator.labels" -}}
helm.sh/chart: {{ include "cognito-m2m-operator.chart" . }}
app.kubernetes.io/name: {{ include "cognito-m2m-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cognito-m2m-operator
{{- end }}

{{/* Selector of the operator's pods. */}}
{{- define "cognito-m2m-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cognito-m2m-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{/* Selector of the emulator's pods. */}}
{{- define "cognito-m2m-operator.emulator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cognito-m2m-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: cognito-emulator
{{- end }}

{{- define "cognito-m2m-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cognito-m2m-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* An image reference from an image value and the chart's appVersion: repository@digest or repository:tag. */}}
{{- define "cognito-m2m-operator.image" -}}
{{- $img := index . 0 }}{{- $ctx := index . 1 }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default $ctx.Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{/* Whether the managers elect a leader: when asked, and always with several replicas. */}}
{{- define "cognito-m2m-operator.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/* The AWS region: the value, else us-east-1 with the emulator, else empty (the manager reads AWS_REGION). */}}
{{- define "cognito-m2m-operator.region" -}}
{{- if .Values.region }}{{ .Values.region }}{{ else if .Values.emulator.enabled }}us-east-1{{ end }}
{{- end }}

{{- define "cognito-m2m-operator.emulator.fullname" -}}
{{- printf "%s-emulator" (include "cognito-m2m-operator.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/* The emulator's URL inside the cluster; also its --base-url, so issuers and token endpoints use it. */}}
{{- define "cognito-m2m-operator.emulator.url" -}}
{{- printf "http://%s.%s.svc:%d" (include "cognito-m2m-operator.emulator.fullname" .) .Release.Namespace (int .Values.emulator.service.port) }}
{{- end }}

{{/* The emulator pool's fixed id, checked against the region. */}}
{{- define "cognito-m2m-operator.emulator.userPoolId" -}}
{{- $region := include "cognito-m2m-operator.region" . }}
{{- $id := default (printf "%s_local0000" $region) .Values.emulator.userPoolId }}
{{- if not (hasPrefix (printf "%s_" $region) $id) }}
{{- fail (printf "emulator.userPoolId %q must start with the region, %q" $id (printf "%s_" $region)) }}
{{- end }}
{{- $id }}
{{- end }}

{{/* Operator settings: the value, else the emulator's when it is enabled, else empty (the manager's default). */}}
{{- define "cognito-m2m-operator.userPoolId" -}}
{{- if .Values.userPoolId }}{{ .Values.userPoolId }}{{ else if .Values.emulator.enabled }}{{ include "cognito-m2m-operator.emulator.userPoolId" . }}{{ end }}
{{- end }}

{{- define "cognito-m2m-operator.cognitoEndpoint" -}}
{{- if .Values.cognito.endpoint }}{{ .Values.cognito.endpoint }}{{ else if .Values.emulator.enabled }}{{ include "cognito-m2m-operator.emulator.url" . }}{{ end }}
{{- end }}

{{- define "cognito-m2m-operator.tokenEndpoint" -}}
{{- if .Values.cognito.tokenEndpoint }}{{ .Values.cognito.tokenEndpoint }}{{ else if .Values.emulator.enabled }}{{ include "cognito-m2m-operator.emulator.url" . }}/oauth2/token{{ end }}
{{- end }}

{{- define "cognito-m2m-operator.issuerBaseUrl" -}}
{{- if .Values.cognito.issuerBaseUrl }}{{ .Values.cognito.issuerBaseUrl }}{{ else if .Values.emulator.enabled }}{{ include "cognito-m2m-operator.emulator.url" . }}{{ end }}
{{- end }}

{{/* Name of the metrics port: https-metrics when served securely (the default), else http-metrics. */}}
{{- define "cognito-m2m-operator.metricsPortName" -}}
{{- if .Values.metrics.secure }}https-metrics{{ else }}http-metrics{{ end }}
{{- end }}
