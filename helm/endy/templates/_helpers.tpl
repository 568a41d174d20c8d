{{/* Names and labels. */}}
{{- define "endy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "endy.fullname" -}}
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

{{- define "endy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "endy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "endy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "endy.labels" -}}
helm.sh/chart: {{ include "endy.chart" . }}
{{ include "endy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: endy
{{- end }}

{{- define "endy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "endy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "endy.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret the pods read: the chart's own, or existingSecret. */}}
{{- define "endy.secretName" -}}
{{- default (include "endy.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* Fixed by the image and the chart's volumes (Settings: log_dir, data_dir). */}}
{{- define "endy.logDir" -}}/app/logs{{- end }}
{{- define "endy.dataDir" -}}/tmp/endy{{- end }}

{{/* True when a knowledge-base source is configured. */}}
{{- define "endy.knowledgeEnabled" -}}
{{- $k := .Values.knowledge }}
{{- if or $k.files $k.existingConfigMap $k.existingClaim }}true{{- end }}
{{- end }}

{{/*
An environment value as text: lists joined with commas, and integral numbers without the float formatting
Helm gives YAML numbers (10485760 would otherwise render as 1.048576e+07).
*/}}
{{- define "endy.envValue" -}}
{{- $v := . }}
{{- if kindIs "slice" $v }}
{{- join "," $v }}
{{- else if and (kindIs "float64" $v) (eq $v (floor $v)) }}
{{- $v | int64 }}
{{- else }}
{{- $v }}
{{- end }}
{{- end }}

{{/* True when a config flag is off ("false", false, "0"). */}}
{{- define "endy.isFalse" -}}
{{- $v := lower (toString .) }}
{{- if has $v (list "false" "0" "no" "off") }}true{{- end }}
{{- end }}

{{/* Prometheus label selector for this release's sidecar targets (ServiceMonitor job = Service name). */}}
{{- define "endy.promSelector" -}}
job="{{ include "endy.fullname" . }}", namespace="{{ .Release.Namespace }}"
{{- end }}

{{/* The scrape interval in seconds (values.schema.json only allows "<N>s"). */}}
{{- define "endy.scrapeSeconds" -}}
{{- trimSuffix "s" .Values.metrics.serviceMonitor.interval | int }}
{{- end }}

{{/* The volumes every Endy container needs with a read-only root filesystem. */}}
{{- define "endy.writableVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.volumes.tmp.sizeLimit }}
- name: logs
  emptyDir:
    sizeLimit: {{ .Values.volumes.logs.sizeLimit }}
{{- end }}

{{- define "endy.writableMounts" -}}
- name: tmp
  mountPath: /tmp
- name: logs
  mountPath: {{ include "endy.logDir" . }}
{{- end }}

{{/*
Refuse values that would deploy a broken Endy, with the reason, at `helm install` time rather than in a
crash-looping pod.
*/}}
{{- define "endy.validate" -}}
{{- $v := .Values }}
{{- if not (has $v.slack.mode (list "socket" "http")) }}
{{- fail (printf "slack.mode must be socket or http, got %q" $v.slack.mode) }}
{{- end }}
{{- if not $v.existingSecret }}
{{- $required := list "SECRET_KEY" "SLACK_BOT_TOKEN" "DATABASE_URL" "REDIS_URL" }}
{{- $required = append $required (ternary "SLACK_APP_TOKEN" "SLACK_SIGNING_SECRET" (eq $v.slack.mode "socket")) }}
{{- range $required }}
{{- if not (index $v.secrets .) }}
{{- fail (printf "secrets.%s is required (or set existingSecret to a Secret holding it)" .) }}
{{- end }}
{{- end }}
{{- if lt (len $v.secrets.SECRET_KEY) 32 }}
{{- fail "secrets.SECRET_KEY must be at least 32 random characters (64+ recommended: openssl rand -hex 32)" }}
{{- end }}
{{- end }}
{{- if include "endy.isFalse" $v.config.ENABLE_HEALTH_CHECK }}
{{- fail "config.ENABLE_HEALTH_CHECK=false removes /liveness and /readiness, which the probes need" }}
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled (include "endy.isFalse" $v.config.ENABLE_METRICS) }}
{{- fail "config.ENABLE_METRICS=false removes /metrics: also set metrics.serviceMonitor.enabled=false" }}
{{- end }}
{{- if and (not $v.migration.enabled) (include "endy.isFalse" $v.config.MIGRATE_ON_START) }}
{{- fail "config.MIGRATE_ON_START=false with migration.enabled=false: nothing applies migrations and /readiness waits for them" }}
{{- end }}
{{- if and $v.ingress.enabled (ne $v.slack.mode "http") }}
{{- fail "ingress.enabled needs slack.mode=http: socket mode has no inbound traffic" }}
{{- end }}
{{- $maxPods := add (ternary $v.autoscaling.maxReplicas $v.replicaCount $v.autoscaling.enabled) 1 }}
{{- if and (eq $v.slack.mode "socket") (gt (int $maxPods) 10) }}
{{- fail (printf "socket mode: up to %d pods (replicas + 1 during a rollout) but Slack allows 10 Socket Mode connections per app" (int $maxPods)) }}
{{- end }}
{{- $k := $v.knowledge }}
{{- $sources := 0 }}
{{- range (list $k.files $k.existingConfigMap $k.existingClaim) }}{{ if . }}{{ $sources = add1 $sources }}{{ end }}{{ end }}
{{- if gt $sources 1 }}
{{- fail "knowledge: set only one of files, existingConfigMap, existingClaim" }}
{{- end }}
{{- $shutdown := add $v.shutdown.preStopSleepSeconds 50 }}
{{- if le (int $v.shutdown.terminationGracePeriodSeconds) (int $shutdown) }}
{{- fail (printf "shutdown.terminationGracePeriodSeconds must exceed preStop + 50 s of Endy's own shutdown (%d)" (int $shutdown)) }}
{{- end }}
{{- end }}

{{/* The knowledge-base volume, from whichever source is configured. */}}
{{- define "endy.knowledgeVolume" -}}
{{- $k := .Values.knowledge -}}
- name: knowledge
{{- if $k.files }}
  configMap:
    name: {{ include "endy.fullname" . }}-knowledge
    items:
      {{- range $path, $_ := $k.files }}
      - key: {{ $path | sha256sum | trunc 20 }}
        path: {{ $path }}
      {{- end }}
{{- else if $k.existingConfigMap }}
  configMap:
    name: {{ $k.existingConfigMap }}
    {{- with $k.items }}
    items:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- else }}
  persistentVolumeClaim:
    claimName: {{ $k.existingClaim }}
    readOnly: true
{{- end }}
{{- end }}
