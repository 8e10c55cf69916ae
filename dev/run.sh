#!/usr/bin/env bash
# dev/run.sh -- tether's main job on this machine.
#
# Against the current kube context when one answers; otherwise starts the local control plane
# (dev/cluster.sh) first. Installs the CRDs, then runs `tether controller` in the foreground
# (Ctrl-C stops it). With TETHER_RUN_SECONDS=N it stops by itself after N seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tether/target}
log() { echo "run: $*" >&2; }

dev/deps.sh
if [[ -z ${KUBECONFIG:-} ]] && kubectl version --request-timeout=5s >/dev/null 2>&1; then
  log "using the current kube context: $(kubectl config current-context)"
else
  log "no reachable kube context; starting the local control plane"
  KUBECONFIG=$(dev/cluster.sh up | tail -n 1)
  export KUBECONFIG
fi

log "building tether"
cargo build -q -p tether
TETHER=$CARGO_TARGET_DIR/debug/tether

log "installing the CRDs"
"$TETHER" install --export --crds-only | kubectl apply --server-side --force-conflicts -f - >&2
kubectl wait --for=condition=Established --timeout=60s \
  crd/gitrepositories.source.toolkit.fluxcd.io crd/kustomizations.kustomize.toolkit.fluxcd.io >&2
kubectl api-resources --api-group=source.toolkit.fluxcd.io >&2
kubectl api-resources --api-group=kustomize.toolkit.fluxcd.io >&2

log "starting tether controller (health on 127.0.0.1:9440, metrics on 127.0.0.1:8080)"
"$TETHER" controller --health-addr 127.0.0.1:9440 --metrics-addr 127.0.0.1:8080 &
controller=$!
trap 'kill -TERM $controller 2>/dev/null; wait $controller' EXIT INT TERM
for _ in $(seq 1 40); do
  if curl -sf http://127.0.0.1:9440/readyz >/dev/null; then break; fi
  sleep 0.25
done
log "controller ready: $(curl -s http://127.0.0.1:9440/readyz)"
if [[ -n ${TETHER_RUN_SECONDS:-} ]]; then
  sleep "$TETHER_RUN_SECONDS"
else
  wait $controller
fi
