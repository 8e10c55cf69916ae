#!/usr/bin/env bash
# dev/run.sh -- tether's main job on this machine.
#
# Against the current kube context when one answers; otherwise starts the local control plane
# (dev/cluster.sh) first. Installs the CRDs, serves the example repository (examples/hello, as a
# git repository behind a local smart-HTTP server with basic auth), creates a GitRepository and a
# Kustomization for it in flux-system, and runs `tether controller` in the foreground: the
# example is applied and `tether get` shows it Ready. Ctrl-C stops it.
# With TETHER_RUN_SECONDS=N it stops by itself N seconds after the example is Ready.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tether/target}
STATE=$HOME/.cache/tether/run
NS=flux-system
PIDS=()
log() { echo "run: $*" >&2; }
stop() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

dev/deps.sh
if [[ -z ${KUBECONFIG:-} ]] && kubectl version --request-timeout=5s >/dev/null 2>&1; then
  log "using the current kube context: $(kubectl config current-context)"
else
  log "no reachable kube context; starting the local control plane"
  KUBECONFIG=$(dev/cluster.sh up | tail -n 1)
  export KUBECONFIG
fi

log "building tether"
cargo build -q -p tether -p tether-testkit --bins
TETHER=$CARGO_TARGET_DIR/debug/tether

log "installing the CRDs"
"$TETHER" install --export --crds-only | kubectl apply --server-side --force-conflicts -f - >/dev/null
kubectl wait --for=condition=Established --timeout=60s \
  crd/gitrepositories.source.toolkit.fluxcd.io crd/kustomizations.kustomize.toolkit.fluxcd.io >/dev/null

log "publishing examples/hello as a git repository on a local HTTP server"
rm -rf "$STATE/git" "$STATE/tree"
mkdir -p "$STATE"
git init -q --bare -b main "$STATE/git/hello.git"
git init -q -b main "$STATE/tree"
cp -r examples/hello/. "$STATE/tree/"
git -C "$STATE/tree" add -A
git -C "$STATE/tree" -c user.name=tether -c user.email=tether@example.test commit -qm "hello example"
git -C "$STATE/tree" push -q "$STATE/git/hello.git" main
PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')
"$CARGO_TARGET_DIR/debug/tether-git-serve" "$STATE/git" tether "$PASSWORD" >"$STATE/serve.out" &
PIDS+=($!)
for _ in $(seq 1 50); do [[ -s $STATE/serve.out ]] && break; sleep 0.1; done
URL="$(head -n 1 "$STATE/serve.out")/hello.git"

kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$NS" create secret generic hello-git --from-literal=username=tether \
  --from-literal=password="$PASSWORD" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f - >/dev/null <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: hello, namespace: $NS}
spec: {url: "$URL", interval: 1m, ref: {branch: main}, secretRef: {name: hello-git}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: hello, namespace: $NS}
spec:
  interval: 5m
  path: ./
  prune: true
  wait: true
  timeout: 2m
  sourceRef: {kind: GitRepository, name: hello}
EOF

log "starting tether controller (health on 127.0.0.1:9440, metrics on 127.0.0.1:8080, artifacts on 127.0.0.1:9090, events on 127.0.0.1:9690, receivers on 127.0.0.1:9292)"
"$TETHER" controller --health-addr 127.0.0.1:9440 --metrics-addr 127.0.0.1:8080 \
  --storage-addr 127.0.0.1:9090 --storage-adv-addr 127.0.0.1:9090 --storage-path "$STATE/storage" \
  --events-addr 127.0.0.1:9690 --receiver-addr 127.0.0.1:9292 &
CONTROLLER=$!
PIDS+=("$CONTROLLER")
kubectl -n "$NS" wait --for=condition=Ready --timeout=180s kustomization/hello >/dev/null
log "the example is synced:"
"$TETHER" get sources git -n "$NS" >&2
"$TETHER" get kustomizations -n "$NS" >&2
"$TETHER" tree kustomization hello -n "$NS" >&2
kubectl -n hello get deployments,services,configmaps >&2
if [[ -n ${TETHER_RUN_SECONDS:-} ]]; then
  sleep "$TETHER_RUN_SECONDS"
else
  log "tether keeps the cluster in sync with the repository; Ctrl-C stops it"
  wait "$CONTROLLER"
fi
