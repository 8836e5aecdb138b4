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
{{- $kafka := dict "brokers" .Values.kafka.brokers "session_timeout_ms" (int .Values.kafka.sessionTimeoutMs) -}}
{{- if .Values.kafka.topicPrefix -}}
{{- $_ := set $kafka "topic_prefix" .Values.kafka.topicPrefix -}}
{{- end -}}
{{- if .Values.kafka.partitions -}}
{{- $partitions := dict -}}
{{- range $topic, $count := .Values.kafka.partitions -}}
{{- $_ := set $partitions $topic (int $count) -}}
{{- end -}}
{{- $_ := set $kafka "partitions" $partitions -}}
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
  "grpc" (dict "targets" $targets "max_connection_age_ms" (int .Values.grpc.maxConnectionAgeMs) "max_connection_age_grace_ms" (int .Values.grpc.maxConnectionAgeGraceMs))
  "telemetry" $telemetry
-}}
{{- mustMergeOverwrite (deepCopy .Values.config) $managed | toYaml -}}
{{- end -}}

{{/*
What every autoscaler of a service must satisfy, whichever provider renders it:
(dict "service" "sync" "values" $values). Renders nothing; fails the render.
*/}}
{{- define "axon.autoscalingChecks" -}}
{{- $autoscaling := .values.autoscaling -}}
{{- if lt (int $autoscaling.maxReplicas) (int .values.replicas) -}}
{{- fail (printf "services.%s: autoscaling.maxReplicas (%d) is below replicas (%d), the autoscaler's minimum" .service (int $autoscaling.maxReplicas) (int .values.replicas)) -}}
{{- end -}}
{{- if and $autoscaling.targetCPUUtilizationPercentage (not (dig "requests" "cpu" "" .values.resources)) -}}
{{- fail (printf "services.%s: autoscaling on CPU needs resources.requests.cpu" .service) -}}
{{- end -}}
{{- $lag := dig "consumerLag" "enabled" false $autoscaling -}}
{{- if and $lag (not $autoscaling.consumerLag.groups) -}}
{{- fail (printf "services.%s: autoscaling.consumerLag has no groups: the service consumes no Kafka topic" .service) -}}
{{- end -}}
{{- if not (or $autoscaling.targetCPUUtilizationPercentage $lag (dig "longPolls" "enabled" false $autoscaling)) -}}
{{- fail (printf "services.%s: autoscaling has nothing to scale on (targetCPUUtilizationPercentage, consumerLag or longPolls)" .service) -}}
{{- end -}}
{{- end -}}

{{/*
Fails when an autoscaler other than the one this render gives the service already scales its
Deployment: KEDA refuses a ScaledObject for a Deployment an HPA scales, and two HPAs on one
Deployment fight over its size. So changing autoscaling.provider takes two upgrades, the
service's autoscaling off and then on: Helm creates the new objects before it deletes the old.
HPAs that KEDA made for a ScaledObject count as that ScaledObject. Looks at the cluster, so
`helm template` (which looks up nothing) never fails here.
(dict "root" $ "service" "sync" "kind" "HorizontalPodAutoscaler" or "ScaledObject")
*/}}
{{- define "axon.autoscalerConflicts" -}}
{{- $name := include "axon.serviceFullname" (dict "root" .root "service" .service) -}}
{{- $namespace := .root.Release.Namespace -}}
{{- $others := list -}}
{{- range (lookup "autoscaling/v2" "HorizontalPodAutoscaler" $namespace "").items | default list -}}
{{- $madeByKeda := false -}}
{{- range .metadata.ownerReferences | default list -}}
{{- if eq .kind "ScaledObject" -}}
{{- $madeByKeda = true -}}
{{- end -}}
{{- end -}}
{{- $mine := and (eq $.kind "HorizontalPodAutoscaler") (eq .metadata.name $name) -}}
{{- if and (eq .spec.scaleTargetRef.kind "Deployment") (eq .spec.scaleTargetRef.name $name) (not $madeByKeda) (not $mine) -}}
{{- $others = append $others (printf "HorizontalPodAutoscaler %s" .metadata.name) -}}
{{- end -}}
{{- end -}}
{{- if .root.Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject" -}}
{{- range (lookup "keda.sh/v1alpha1" "ScaledObject" $namespace "").items | default list -}}
{{- $mine := and (eq $.kind "ScaledObject") (eq .metadata.name $name) -}}
{{- /* KEDA's scaleTargetRef.kind defaults to Deployment. */ -}}
{{- if and (eq (.spec.scaleTargetRef.kind | default "Deployment") "Deployment") (eq .spec.scaleTargetRef.name $name) (not $mine) -}}
{{- $others = append $others (printf "ScaledObject %s" .metadata.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with $others -}}
{{- fail (printf "services.%s: %s already scales Deployment %s, and a %s must not scale it too: upgrade once with services.%s.autoscaling.enabled=false, then with the autoscaler wanted" $.service (join ", " .) $name $.kind $.service) -}}
{{- end -}}
{{- end -}}

{{/*
The consumer-lag gauge of one service's processes, as Prometheus names it:
hs_<app>_bus_group_lag_messages{topic,group,partition} (libs/platform/bus/src/bus-metrics.ts),
<app> being the service with "_" for "-".
*/}}
{{- define "axon.consumerLagMetric" -}}
{{- printf "hs_%s_bus_group_lag_messages" (replace "-" "_" .) -}}
{{- end -}}

{{/* Open /sync long-polls of one sync process (libs/services/sync/src/sync.metrics.ts). */}}
{{- define "axon.longPollsMetric" -}}
hs_sync_sync_long_polls_open
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
