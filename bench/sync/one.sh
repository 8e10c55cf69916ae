#!/usr/bin/env bash
# bench/sync/one.sh -- one Kustomization of N objects (default 1000: N/4 applications of a
# Deployment with 0 replicas, ServiceAccount, Service and Ingress), synced by one `tether
# controller` against a fresh local control plane. Prints:
#   - seconds until the Kustomization is Ready, and the controller's requests;
#   - then ROUNDS (default 5) no-op resyncs, each asked for with `reconcile.fluxcd.io/requestedAt`
#     at an unchanged revision: the reconcile's duration (from `gotk_reconcile_duration_seconds`),
#     the seconds until the status answered, the controller's requests, and every write the
#     apiserver served meanwhile by resource (the status patch that records the request is the
#     only one expected).
# Usage: bench/sync/one.sh [OBJECTS]    (environment: see bench/sync/lib.sh; ROUNDS=N)
source "$(dirname "$0")/lib.sh"
OBJECTS=${1:-1000}
ROUNDS=${ROUNDS:-5}
APPS=$(((OBJECTS + 3) / 4))
bench_start

log "generating $APPS applications ($((APPS * 4)) objects) under one path"
publish_apps "$APPS"

log "creating CRDs, namespaces and the Kustomization"
install_tether
{
  git_repository_yaml
  cat <<KS
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: all, namespace: bench}
spec: {interval: 1h, timeout: 5m, path: ./apps, prune: true, targetNamespace: bench-apps, sourceRef: {kind: GitRepository, name: apps}}
KS
} | kubectl create -f - 2>&1 >/dev/null | { grep -v 'prefer a domain-qualified finalizer' || true; } >&2

metrics() { curl -s http://127.0.0.1:18090/metrics; }
duration_sum() { # metrics-file: total seconds the Kustomization's reconciles took
  awk '/^gotk_reconcile_duration_seconds_sum\{kind="Kustomization",name="all"/ {print $2 + 0}' "$1"
}
apiserver_writes() { # output-file: the apiserver's write counters, every client
  kubectl get --raw /metrics |
    grep -E '^apiserver_request_total\{' | grep -E 'verb="(APPLY|PATCH|POST|PUT|DELETE)"' |
    grep -v 'dry_run="All"' >"$1" || true
}
writes_delta() { # before after: writes served meanwhile, by verb and resource
  awk '
    function key(line,   v, r, s) {
      match(line, /verb="[^"]*"/); v = substr(line, RSTART + 6, RLENGTH - 7)
      match(line, /resource="[^"]*"/); r = substr(line, RSTART + 10, RLENGTH - 11)
      s = ""; if (match(line, /subresource="[^"]+"/)) s = "/" substr(line, RSTART + 13, RLENGTH - 14)
      return v " " r s
    }
    FNR == NR { before[key($0)] += $NF; next }
    { after[key($0)] += $NF }
    END { for (k in after) if (after[k] > before[k]) printf "%s%d %s", (n++ ? ", " : ""), after[k] - before[k], k; if (!n) printf "none" }
  ' "$1" "$2"
}

log "starting tether controller; waiting for the Kustomization to be Ready"
start_controller 18090
started=$(date +%s.%N)
kubectl -n bench wait kustomizations.kustomize.toolkit.fluxcd.io/all --for=condition=Ready \
  --timeout=600s >/dev/null
echo "initial sync: $((APPS * 4)) objects in one Kustomization Ready in $(seconds_since "$started")s"
metrics >"$WORK/metrics-initial.txt"
report_requests "$WORK/metrics-initial.txt"
applied=$(kubectl -n bench get kustomizations.kustomize.toolkit.fluxcd.io all \
  -o jsonpath='{.status.lastAppliedRevision}')

for ((round = 1; round <= ROUNDS; round++)); do
  sleep 2 # past the second of any earlier write
  metrics >"$WORK/metrics-before.txt"
  apiserver_writes "$WORK/writes-before.txt"
  token="bench-$round-$(date +%s%N)"
  started=$(date +%s.%N)
  kubectl -n bench annotate --overwrite kustomizations.kustomize.toolkit.fluxcd.io all \
    "reconcile.fluxcd.io/requestedAt=$token" >/dev/null
  kubectl -n bench wait kustomizations.kustomize.toolkit.fluxcd.io/all \
    --for=jsonpath='{.status.lastHandledReconcileAt}'="$token" --timeout=120s >/dev/null
  answered=$(seconds_since "$started")
  metrics >"$WORK/metrics-after.txt"
  apiserver_writes "$WORK/writes-after.txt"
  took=$(awk -v a="$(duration_sum "$WORK/metrics-after.txt")" -v b="$(duration_sum "$WORK/metrics-before.txt")" \
    'BEGIN {printf "%.2f", a - b}')
  revision=$(kubectl -n bench get kustomizations.kustomize.toolkit.fluxcd.io all \
    -o jsonpath='{.status.lastAppliedRevision}')
  [[ $revision == "$applied" ]] || log "round $round: revision moved from $applied to $revision"
  echo "no-op resync $round: reconcile ${took}s (status answered after ${answered}s)"
  for f in before after; do
    grep -E '^tether_api_requests_total' "$WORK/metrics-$f.txt" >"$WORK/requests-$f.txt" || true
  done
  awk 'FNR == NR {b[$1] = $2; next} {print $1, $2 - b[$1]}' \
    "$WORK/requests-before.txt" "$WORK/requests-after.txt" >"$WORK/requests-round.txt"
  echo "  controller requests: $(requests_line "$WORK/requests-round.txt")"
  echo "  apiserver writes: $(writes_delta "$WORK/writes-before.txt" "$WORK/writes-after.txt")"
done
