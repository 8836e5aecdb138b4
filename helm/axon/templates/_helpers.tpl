{{/* The release's name prefix: the release name, with "-axon" unless it already says axon. */}}
{{- define "axon.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The Kubernetes name of one Axon service's Deployment and Service: (dict "root" $ "service" "sync"). */}}
{{- define "axon.serviceFullname" -}}
{{- printf "%s-%s" (include "axon.fullname" .root) .service -}}
{{- end -}}

{{- define "axon.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one service's pods: (dict "root" $ "service" "sync"). */}}
{{- define "axon.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{/* The routing table written by `npm run routes` from libs/contracts/routes. */}}
{{- define "axon.routes" -}}
{{- .Files.Get "files/routes.json" -}}
{{- end -}}

{{/* The services that serve gRPC (values of the table's "grpc" map), as a JSON list. */}}
{{- define "axon.grpcServers" -}}
{{- $servers := list -}}
{{- range $name, $service := (include "axon.routes" . | fromJson).grpc -}}
{{- $servers = append $servers $service -}}
{{- end -}}
{{- $servers | uniq | toJson -}}
{{- end -}}

{{- define "axon.secretName" -}}
{{- include "axon.fullname" . -}}
{{- end -}}

{{- define "axon.configMapName" -}}
{{- printf "%s-config" (include "axon.fullname" .) -}}
{{- end -}}

{{/* The Axon configuration file (docs/configuration.md) shared by every process. */}}
{{- define "axon.config" -}}
{{- $routes := include "axon.routes" . | fromJson -}}
{{- $targets := dict -}}
{{- range $grpcService, $service := $routes.grpc -}}
{{- $_ := set $targets $grpcService (printf "dns:///%s-grpc:50051" (include "axon.serviceFullname" (dict "root" $ "service" $service))) -}}
{{- end -}}
{{- $kafka := dict "brokers" .Values.kafka.brokers -}}
{{- if .Values.kafka.topicPrefix -}}
{{- $_ := set $kafka "topic_prefix" .Values.kafka.topicPrefix -}}
{{- end -}}
{{- $redis := dict "url" .Values.redis.url -}}
{{- if .Values.redis.keyPrefix -}}
{{- $_ := set $redis "key_prefix" .Values.redis.keyPrefix -}}
{{- end -}}
{{- $telemetry := dict -}}
{{- if .Values.otel.endpoint -}}
{{- $_ := set $telemetry "otlp_endpoint" .Values.otel.endpoint -}}
{{- end -}}
{{- $managed := dict
  "server_name" .Values.serverName
  "data_dir" "/var/lib/axon"
  "listen" (dict "client" "0.0.0.0:8008" "grpc" "0.0.0.0:50051" "metrics" (printf "0.0.0.0:%d" (int .Values.metricsPort)))
  "kafka" $kafka
  "redis" $redis
  "grpc" (dict "targets" $targets)
  "telemetry" $telemetry
-}}
{{- mustMergeOverwrite (deepCopy .Values.config) $managed | toYaml -}}
{{- end -}}

{{/* The signing key file's content, base64: the value, the one already installed, or a new key. */}}
{{- define "axon.signingKey" -}}
{{- if .Values.signingKey.value -}}
{{- .Values.signingKey.value | trim | b64enc -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "axon.secretName" .) -}}
{{- if and $existing (index ($existing.data | default dict) "signing.key") -}}
{{- index $existing.data "signing.key" -}}
{{- else -}}
{{- /* PKCS#8 DER of an Ed25519 key: a 16-byte header, then the 32-byte seed. */ -}}
{{- $der := regexReplaceAll "-----[A-Z ]+-----|\\s" (genPrivateKey "ed25519") "" | b64dec -}}
{{- $seed := $der | substr 16 48 | b64enc | trimSuffix "=" -}}
{{- printf "ed25519 a_%s %s" (randAlphaNum 4) $seed | b64enc -}}
{{- end -}}
{{- end -}}
{{- end -}}
