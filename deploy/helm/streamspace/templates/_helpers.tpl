{{/* Names ------------------------------------------------------------------------------ */}}

{{- define "streamspace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-streamspace, or the release name when it already says streamspace. */}}
{{- define "streamspace.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "streamspace.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "streamspace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: streamspace
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api") */}}
{{- define "streamspace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamspace.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "streamspace.componentLabels" -}}
{{ include "streamspace.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Images ----------------------------------------------------------------------------- */}}

{{/* (dict "root" $ "image" .Values.api.image) → registry/repository:tag */}}
{{- define "streamspace.image" -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s%s:%s" .root.Values.global.imageRegistry .image.repository (toString $tag) -}}
{{- end -}}

{{- define "streamspace.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets -}}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Where things are ------------------------------------------------------------------- */}}

{{- define "streamspace.apiService" -}}{{ include "streamspace.fullname" . }}-api{{- end -}}
{{- define "streamspace.relayService" -}}{{ include "streamspace.fullname" . }}-relay{{- end -}}

{{- define "streamspace.apiUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "streamspace.apiService" .) .Release.Namespace .Values.api.service.port -}}
{{- end -}}

{{- define "streamspace.appSecret" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "streamspace.fullname" .)) -}}
{{- end -}}

{{/* Generated connection strings and passwords of bundled services. */}}
{{- define "streamspace.connSecret" -}}{{ include "streamspace.fullname" . }}-connections{{- end -}}

{{- define "streamspace.hasRedis" -}}
{{- if or .Values.redis.enabled .Values.redis.external.url .Values.redis.external.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "streamspace.sessionNamespace" -}}
{{- .Values.k8sAgent.sessionNamespace | default .Release.Namespace -}}
{{- end -}}

{{- define "streamspace.agentId" -}}
{{- .Values.k8sAgent.agentId | default (printf "%s-k8s" (include "streamspace.fullname" .)) -}}
{{- end -}}

{{- define "streamspace.agentServiceAccount" -}}
{{- if .Values.k8sAgent.serviceAccount.create -}}
{{- .Values.k8sAgent.serviceAccount.name | default (printf "%s-agent" (include "streamspace.fullname" .)) -}}
{{- else -}}
{{- .Values.k8sAgent.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Environment ------------------------------------------------------------------------ */}}

{{/* REDIS_URL from the chart's Secret (bundled or external.url) or the user's Secret. */}}
{{- define "streamspace.redisEnv" -}}
{{- if include "streamspace.hasRedis" . -}}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      {{- if and (not .Values.redis.enabled) .Values.redis.external.existingSecret }}
      name: {{ .Values.redis.external.existingSecret }}
      key: {{ .Values.redis.external.existingSecretKey }}
      {{- else }}
      name: {{ include "streamspace.connSecret" . }}
      key: redis-url
      {{- end }}
{{- end }}
{{- end -}}

{{/* DATABASE_URL: PgBouncer, the bundled Postgres, or the external one. */}}
{{- define "streamspace.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- if and (not .Values.postgresql.enabled) (not .Values.pgbouncer.enabled) .Values.postgresql.external.existingSecret }}
      name: {{ .Values.postgresql.external.existingSecret }}
      key: {{ .Values.postgresql.external.existingSecretKey }}
      {{- else }}
      name: {{ include "streamspace.connSecret" . }}
      key: database-url
      {{- end }}
{{- end -}}

{{/* Pod scheduling --------------------------------------------------------------------- */}}

{{/* (dict "root" $ "component" "api" "mode" "soft" "affinity" .Values.api.affinity) */}}
{{- define "streamspace.affinity" -}}
{{- if .affinity -}}
affinity:
  {{- toYaml .affinity | nindent 2 }}
{{- else if eq .mode "hard" -}}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "streamspace.selectorLabels" . | nindent 12 }}
{{- else if eq .mode "soft" -}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "streamspace.selectorLabels" . | nindent 14 }}
{{- end }}
{{- end -}}

{{/* preStop that only waits: the native sleep action where the cluster has it (1.30+), else
     node itself (the images have no shell or sleep binary). (dict "root" $ "seconds" 5) */}}
{{- define "streamspace.preStop" -}}
{{- if gt (int .seconds) 0 -}}
lifecycle:
  preStop:
    {{- if semverCompare ">=1.30-0" .root.Capabilities.KubeVersion.Version }}
    sleep:
      seconds: {{ .seconds }}
    {{- else }}
    exec:
      command: ["/usr/local/bin/node", "-e", "setTimeout(() => {}, {{ mul .seconds 1000 }})"]
    {{- end }}
{{- end }}
{{- end -}}

{{/* Rolling update of a tier: (dict "strategy" .Values.api.rollingUpdate "mode" .Values.api.antiAffinity).
     A new pod comes up before an old one goes, except under hard anti-affinity, where every
     node may already hold one pod and a surge pod could never be scheduled: then pods are
     replaced one at a time (the PDB keeps the rest serving). */}}
{{- define "streamspace.rollingUpdate" -}}
{{- if .strategy -}}
{{- toYaml .strategy -}}
{{- else if eq .mode "hard" -}}
maxSurge: 0
maxUnavailable: 1
{{- else -}}
maxSurge: 1
maxUnavailable: 0
{{- end -}}
{{- end -}}

{{/* A NetworkPolicy peer: this release's pods of one component. */}}
{{- define "streamspace.npPeer" -}}
- podSelector:
    matchLabels:
      {{- include "streamspace.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* Validation ------------------------------------------------------------------------- */}}

{{- define "streamspace.validate" -}}
{{- $multiApi := or (gt (int .Values.api.replicaCount) 1) .Values.api.autoscaling.enabled -}}
{{- $multiRelay := and .Values.relay.enabled (or (gt (int .Values.relay.replicaCount) 1) .Values.relay.autoscaling.enabled) -}}
{{- if and (or $multiApi $multiRelay) (not (include "streamspace.hasRedis" .)) -}}
{{- fail "More than one API pod or relay needs Redis: set redis.enabled=true or redis.external.url (or existingSecret)." -}}
{{- end -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.postgresql.external.url) (not .Values.postgresql.external.existingSecret) (not .Values.postgresql.external.host) -}}
{{- fail "No database: set postgresql.enabled=true, or postgresql.external.url / existingSecret / host." -}}
{{- end -}}
{{- if and .Values.pgbouncer.enabled (not .Values.postgresql.enabled) (not .Values.postgresql.external.host) -}}
{{- fail "PgBouncer in front of an external Postgres needs postgresql.external.host (and port, database, username, password)." -}}
{{- end -}}
{{- if and .Values.k8sAgent.ha.enabled (not .Values.k8sAgent.enabled) -}}
{{- fail "k8sAgent.ha.enabled needs k8sAgent.enabled=true." -}}
{{- end -}}
{{- end -}}
