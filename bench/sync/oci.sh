#!/usr/bin/env bash
# bench/sync/oci.sh -- the shape of Flux's own published benchmark: N applications (default
# 1000), each pushed with `tether push artifact` to a local OCI registry and synced by its own
# OCIRepository and Kustomization (wait: true, timeout: 1m, prune: true, a postBuild
# substitution) applying a ServiceAccount, Service, Ingress and Deployment with 0 replicas.
# Prints the seconds until every Kustomization is Ready, the controller's peak RSS and CPU, and
# the API requests (as bench/sync/run.sh does for a Git source), and the requests the registry
# served meanwhile (from its access log; HTTPS attempts it refused are not requests).
# Flux's published figures for this shape: 4m17s (source-controller, 128 MiB) and 4m13s
# (kustomize-controller, 223 MiB) on a 16-core runner; BENCH_FLUX=1 measures Flux here too, on
# the same objects, and prints the ratios.
# Usage: bench/sync/oci.sh [APPS]    (environment: see bench/sync/lib.sh)
source "$(dirname "$0")/lib.sh"
APPS=${1:-1000}
bench_start

log "starting a local OCI registry"
REGISTRY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/registry"
cat >"$WORK/registry/config.yml" <<CONFIG
version: 0.1
log: {level: warn, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $WORK/registry/data}}
http: {addr: "127.0.0.1:$REGISTRY_PORT", secret: bench}
CONFIG
"$(dev/testbin.sh 2>/dev/null | tail -n 1)/registry" serve "$WORK/registry/config.yml" \
  >"$WORK/registry-access.log" 2>"$WORK/registry.log" &
PIDS+=($!)
until curl -fs "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null; do sleep 0.1; done

log "pushing $APPS artifacts"
for ((i = 1; i <= APPS; i++)); do
  app=$(printf 'app-%04d' "$i")
  write_app "$WORK/apps/$app" "$app"
  label_from_substitution "$WORK/apps/$app/app.yaml"
done
pushed_started=$(date +%s.%N)
for ((i = 1; i <= APPS; i++)); do printf 'app-%04d\n' "$i"; done |
  xargs -P 8 -I{} "$BIN/tether" push artifact "oci://127.0.0.1:$REGISTRY_PORT/apps/{}:v1" \
    --path "$WORK/apps/{}" --source https://example.test/apps --revision main@sha1:0123456789 \
    --output json >/dev/null
log "pushed $APPS artifacts in $(seconds_since "$pushed_started")s (8 parallel tether push artifact)"

log "creating CRDs, namespaces, $APPS OCIRepositories and $APPS Kustomizations"
install_tether
for ((i = 1; i <= APPS; i++)); do
  app=$(printf 'app-%04d' "$i")
  printf -- '---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: %s, namespace: bench}\nspec: {url: "oci://127.0.0.1:%s/apps/%s", interval: 1h, ref: {tag: v1}}\n' "$app" "$REGISTRY_PORT" "$app"
  printf -- '---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: %s, namespace: bench}\nspec: {interval: 1h, path: ./, prune: true, wait: true, timeout: 1m, targetNamespace: bench-apps, sourceRef: {kind: OCIRepository, name: %s}, postBuild: {substitute: {team: bench}}}\n' "$app" "$app"
done >"$WORK/objects.yaml"
kubectl create -f "$WORK/objects.yaml" 2>&1 >/dev/null | { grep -v 'prefer a domain-qualified finalizer' || true; } >&2

# The registry's requests from line $1 of its access log on, by method and kind of path.
registry_requests_since() {
  tail -n +"$1" "$WORK/registry-access.log" | awk '
    match($0, /"[A-Z]+ \/v2\/[^ ]*/) {
      split(substr($0, RSTART + 1, RLENGTH - 1), r, " ")
      path = r[2]; kind = "ping"
      if (path ~ /\/manifests\//) kind = "manifests"; else if (path ~ /\/blobs\//) kind = "blobs"
      else if (path ~ /\/tags\//) kind = "tags"
      n[r[1] " " kind]++; total++
    }
    END { printf "%d total", total; for (k in n) printf ", %s %d", k, n[k]; printf "\n" }'
}

log "starting tether controller; waiting for $APPS Ready Kustomizations"
from=$(($(wc -l <"$WORK/registry-access.log") + 1))
measure_initial_sync "$APPS" 18080
echo "  registry requests: $(registry_requests_since "$from")"

if [[ ${BENCH_FLUX:-0} == 1 ]]; then
  kill "$CONTROLLER"
  wait "$CONTROLLER" 2>/dev/null || true
  from=$(($(wc -l <"$WORK/registry-access.log") + 1))
  measure_flux "$APPS" "$WORK/objects.yaml"
  echo "  registry requests: $(registry_requests_since "$from")"
  compare_with_flux "$APPS"
fi
