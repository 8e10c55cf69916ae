#!/usr/bin/env bash
# bench/helm/releases.sh -- the shape of Flux's HelmRelease benchmark: N HelmReleases (default
# 1000) of one podinfo-sized chart (Deployment with 0 replicas, Service, ServiceAccount,
# HorizontalPodAutoscaler) from one shared chart repository, drift detection enabled. The
# repository is served over HTTP (`helm package` + `helm repo index` of the Go-built helm, a
# static file server), or, with `oci` as the second argument, pushed with `helm push` to a local
# OCI registry. Prints the seconds until every HelmRelease is Ready, the controller's peak RSS
# and CPU, and the API requests; then restarts the controller over the same storage and prints
# the requests of the no-op resync (zero writes expected).
# Flux's published figure for this shape: 4m39s with 361 MiB (helm-controller, 16-core runner).
# Usage: bench/helm/releases.sh [RELEASES] [http|oci]   (environment: see bench/sync/lib.sh)
READY_RESOURCE=helmreleases.helm.toolkit.fluxcd.io
READY_KIND=HelmReleases
source "$(dirname "$0")/../sync/lib.sh"
RELEASES=${1:-1000}
VARIANT=${2:-http}
bench_start
TESTBIN=$(dev/testbin.sh 2>/dev/null | tail -n 1)
HELM=$TESTBIN/helm
export HELM_CACHE_HOME=$WORK/.helm/cache HELM_CONFIG_HOME=$WORK/.helm/config HELM_DATA_HOME=$WORK/.helm/data
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

log "writing and packaging the chart"
mkdir -p "$WORK/chart/podinfo/templates" "$WORK/repo"
cat >"$WORK/chart/podinfo/Chart.yaml" <<'CHART'
apiVersion: v2
name: podinfo
version: 6.7.0
appVersion: 6.7.0
description: a podinfo-sized application
CHART
cat >"$WORK/chart/podinfo/values.yaml" <<'VALUES'
replicaCount: 0
image: {repository: ghcr.io/example/podinfo, tag: ""}
service: {port: 9898}
hpa: {minReplicas: 1, maxReplicas: 4, cpu: 80}
VALUES
cat >"$WORK/chart/podinfo/templates/_helpers.tpl" <<'HELPERS'
{{- define "podinfo.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
HELPERS
cat >"$WORK/chart/podinfo/templates/resources.yaml" <<'TEMPLATES'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
  labels: {{- include "podinfo.labels" . | nindent 4 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {{- include "podinfo.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app.kubernetes.io/instance: {{ .Release.Name }}}
  template:
    metadata:
      labels: {{- include "podinfo.labels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers:
      - name: podinfo
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
        ports: [{name: http, containerPort: 9898}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  labels: {{- include "podinfo.labels" . | nindent 4 }}
spec:
  selector: {app.kubernetes.io/instance: {{ .Release.Name }}}
  ports: [{name: http, port: {{ .Values.service.port }}, targetPort: http}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .Release.Name }}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ .Release.Name }}}
  minReplicas: {{ .Values.hpa.minReplicas }}
  maxReplicas: {{ .Values.hpa.maxReplicas }}
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: {{ .Values.hpa.cpu }}}}
TEMPLATES
"$HELM" package "$WORK/chart/podinfo" -d "$WORK/repo" >/dev/null

install_tether
if [[ $VARIANT == oci ]]; then
  log "starting a local OCI registry and pushing the chart"
  PORT=$(free_port)
  mkdir -p "$WORK/registry"
  printf 'version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "127.0.0.1:%s", secret: bench}\n' \
    "$WORK/registry/data" "$PORT" >"$WORK/registry/config.yml"
  "$TESTBIN/registry" serve "$WORK/registry/config.yml" 2>"$WORK/registry.log" &
  PIDS+=($!)
  until curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null; do sleep 0.1; done
  "$HELM" push "$WORK/repo/podinfo-6.7.0.tgz" "oci://127.0.0.1:$PORT/charts" --plain-http >/dev/null 2>&1
  REPOSITORY="{type: oci, url: \"oci://127.0.0.1:$PORT/charts\", insecure: true, interval: 1h}"
else
  log "serving the chart repository over HTTP"
  PORT=$(free_port)
  "$HELM" repo index "$WORK/repo" --url "http://127.0.0.1:$PORT"
  python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$WORK/repo" >"$WORK/http.log" 2>&1 &
  PIDS+=($!)
  until curl -fs "http://127.0.0.1:$PORT/index.yaml" >/dev/null; do sleep 0.1; done
  REPOSITORY="{url: \"http://127.0.0.1:$PORT\", interval: 1h}"
fi

log "creating the HelmRepository and $RELEASES HelmReleases"
{
  printf -- '---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: bench}\nspec: %s\n' "$REPOSITORY"
  for ((i = 1; i <= RELEASES; i++)); do
    app=$(printf 'app-%04d' "$i")
    printf -- '---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: %s, namespace: bench}\nspec: {interval: 1h, releaseName: %s, targetNamespace: bench-apps, storageNamespace: bench-apps, driftDetection: {mode: enabled}, chart: {spec: {chart: podinfo, version: "6.x", interval: 1h, sourceRef: {kind: HelmRepository, name: charts}}}}\n' "$app" "$app"
  done
} >"$WORK/objects.yaml"
kubectl create -f "$WORK/objects.yaml" 2>&1 >/dev/null | { grep -v 'prefer a domain-qualified finalizer' || true; } >&2

log "starting tether controller; waiting for $RELEASES Ready HelmReleases ($VARIANT repository)"
measure_initial_sync "$RELEASES" 18090

kill "$CONTROLLER"
wait "$CONTROLLER" 2>/dev/null || true
log "restarting the controller over the same storage: a no-op resync of every HelmRelease"
apiserver_requests "$WORK/apiserver-resync-before.txt"
start_controller 18091
started=$(date +%s.%N)
reconciled() {
  curl -s http://127.0.0.1:18091/metrics |
    grep -E '^controller_runtime_reconcile_total\{controller="helmrelease"' | awk '{s += $2} END {print s + 0}'
}
while (($(reconciled) < RELEASES)); do sleep 0.5; done
elapsed=$(awk -v a="$(date +%s.%N)" -v b="$started" 'BEGIN {printf "%.1f", a - b}')
curl -s http://127.0.0.1:18091/metrics >"$WORK/metrics-resync.txt"
echo "no-op resync: $RELEASES HelmReleases reconciled in ${elapsed}s"
report_requests "$WORK/metrics-resync.txt"
apiserver_requests "$WORK/apiserver-resync-after.txt"
echo "  writes the apiserver served meanwhile (every client):"
apiserver_delta "$WORK/apiserver-resync-before.txt" "$WORK/apiserver-resync-after.txt" 1 |
  grep -E ' (POST|PUT|PATCH|APPLY|DELETE) ' | grep -v dry-run || echo "    none"
