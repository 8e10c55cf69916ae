#!/usr/bin/env bash
# bench/sync/run.sh -- N applications (default 1000) in one Git repository, one Kustomization
# each (Deployment with 0 replicas, ServiceAccount, Service, Ingress), synced by one
# `tether controller` against a fresh local control plane. Prints:
#   - seconds from controller start until every Kustomization is Ready, the controller's peak
#     RSS, and the API requests it made (by verb, dry-runs apart);
#   - then a no-op resync (the controller restarted over the same storage: every Kustomization
#     reconciled again at an unchanged revision): seconds and write requests;
#   - with BENCH_FLUX=1, Flux's source-controller and kustomize-controller over the same
#     objects on a fresh control plane, and the ratios (bench/sync/flux.sh);
#   - then the floor this machine sets: the same objects applied by parallel `kubectl apply
#     --server-side` on a fresh control plane (BENCH_FLOOR=0 skips it).
# The controller runs as the ServiceAccount `tether install` creates, with its token and RBAC.
# BENCH_WAIT=1 gives every Kustomization the shape of Flux's benchmark (bench/sync/oci.sh):
# `wait: true`, `timeout: 1m` and a postBuild substitution.
# Usage: bench/sync/run.sh [APPS]    (environment: see bench/sync/lib.sh)
source "$(dirname "$0")/lib.sh"
APPS=${1:-1000}
bench_start

log "generating $APPS applications"
if [[ ${BENCH_WAIT:-0} == 1 ]]; then
  publish_apps "$APPS" substituted
  shape=' wait: true, timeout: 1m, postBuild: {substitute: {team: bench}},'
else
  publish_apps "$APPS"
  shape=''
fi

log "creating CRDs, namespaces and $APPS Kustomizations"
install_tether
{
  git_repository_yaml
  for ((i = 1; i <= APPS; i++)); do
    printf -- '---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app-%04d, namespace: bench}\nspec: {interval: 1h, path: ./apps/app-%04d, prune: true,%s targetNamespace: bench-apps, sourceRef: {kind: GitRepository, name: apps}}\n' "$i" "$i" "$shape"
  done
} >"$WORK/objects.yaml"
kubectl create -f "$WORK/objects.yaml" 2>&1 >/dev/null | { grep -v 'prefer a domain-qualified finalizer' || true; } >&2

log "starting tether controller; waiting for $APPS Ready Kustomizations"
measure_initial_sync "$APPS" 18080

kill "$CONTROLLER"
wait "$CONTROLLER" 2>/dev/null || true
log "restarting the controller over the same storage: a no-op resync of every Kustomization"
start_controller 18081
started=$(date +%s.%N)
reconciled() {
  curl -s http://127.0.0.1:18081/metrics |
    grep -E '^controller_runtime_reconcile_total\{controller="kustomization"' | awk '{s += $2} END {print s + 0}'
}
while (($(reconciled) < APPS)); do sleep 0.5; done
elapsed=$(awk -v a="$(date +%s.%N)" -v b="$started" 'BEGIN {printf "%.1f", a - b}')
curl -s http://127.0.0.1:18081/metrics >"$WORK/metrics-resync.txt"
echo "no-op resync: $APPS Kustomizations reconciled in ${elapsed}s"
report_requests "$WORK/metrics-resync.txt"

if [[ ${BENCH_FLUX:-0} == 1 ]]; then
  kill "$CONTROLLER"
  wait "$CONTROLLER" 2>/dev/null || true
  measure_flux "$APPS" "$WORK/objects.yaml"
  compare_with_flux "$APPS"
fi

# The floor this machine sets, to read the figures above against: the same objects applied by
# plain `kubectl apply --server-side`, 20 processes in parallel (tether's concurrency), on a fresh
# control plane, until the controller-manager has observed every Deployment. No Git, no
# Kustomization status, events or finalizers: what any client pays for these applies here.
if [[ ${BENCH_FLOOR:-1} == 1 ]]; then
  kill "$CONTROLLER" 2>/dev/null || true
  wait "$CONTROLLER" 2>/dev/null || true
  log "reference: the same objects applied by $CONCURRENT parallel kubectl processes"
  dev/cluster.sh down >/dev/null 2>&1
  KUBECONFIG=$(dev/cluster.sh up | tail -n 1)
  kubectl create namespace bench-apps >/dev/null
  kubectl api-resources >/dev/null # discovery cached before the clock starts
  cpu_before=$(cpu_snapshot $$)
  cpu_before=${cpu_before/tether=*([0-9.])/tether=0}
  started=$(date +%s.%N) appliers=()
  for ((k = 0; k < CONCURRENT; k++)); do
    files=()
    for ((i = k + 1; i <= APPS; i += CONCURRENT)); do files+=(-f "$WORK/tree/apps/$(printf 'app-%04d' "$i")"); done
    kubectl apply --server-side --validate=false --field-manager=bench -n bench-apps "${files[@]}" >/dev/null &
    appliers+=($!)
  done
  wait "${appliers[@]}"
  observed() {
    kubectl -n bench-apps get deployments -o json |
      jq '[.items[] | select(.status.observedGeneration == 1)] | length'
  }
  until (($(observed) >= APPS)); do sleep 0.2; done
  elapsed=$(awk -v a="$(date +%s.%N)" -v b="$started" 'BEGIN {printf "%.1f", a - b}')
  echo "reference floor: $((APPS * 4)) objects applied by $CONCURRENT parallel kubectl in ${elapsed}s"
  echo "  CPU: $(cpu_delta "$cpu_before" "$(cpu_snapshot $$)" | sed 's/^tether [0-9.]*s, //')"
fi
