# bench/sync/flux.sh -- Flux as the comparator of the sync benchmarks (BENCH_FLUX=1), sourced by
# lib.sh: builds Flux 2.9.5's source-controller and kustomize-controller (v1.9.5) from Go
# modules into a cache beside the testbin, and runs them against a fresh local control plane
# with Flux's own CRDs and the same objects tether synced. Bench-only: nothing else builds them.
# Environment: FLUX_BIN=DIR (the cache, default ~/.cache/tether/flux-controllers-v1.9.5);
# FLUX_SOURCE_CONCURRENT and FLUX_KUSTOMIZE_CONCURRENT (default 10 and 20, the concurrency of
# Flux's own published benchmark). Client-side throttling is off in both, as Flux turns it off
# when the apiserver has priority and fairness (this one has).
FLUX_CONTROLLERS_VERSION=v1.9.5
FLUX_BIN=${FLUX_BIN:-$HOME/.cache/tether/flux-controllers-$FLUX_CONTROLLERS_VERSION}
FLUX_SOURCE_CONCURRENT=${FLUX_SOURCE_CONCURRENT:-10}
FLUX_KUSTOMIZE_CONCURRENT=${FLUX_KUSTOMIZE_CONCURRENT:-20}
# The module proxy refuses github.com/fluxcd/pkg/artifact v0.18.3 (source-controller's pin:
# "403 This module version is not available"); v0.18.0, the newest v0.18 it serves, builds.
FLUX_UNSERVED_MODULES=(github.com/fluxcd/pkg/artifact@v0.18.0)

flux_module_dir() { # controller name: its v1.9.5 module directory in the module cache
  GOTOOLCHAIN=local GOFLAGS=-modcacherw go mod download -json \
    "github.com/fluxcd/$1@$FLUX_CONTROLLERS_VERSION" | jq -r .Dir
}

# Both modules replace their api module with ./api, which module zips leave out, so `go install
# module@version` refuses them: each is built as the main module from a copy of its module-cache
# directory with the api module at the same version (as dev/testbin.sh builds the flux CLI).
build_flux_controllers() {
  local name work started pin module
  mkdir -p "$FLUX_BIN"
  for name in source-controller kustomize-controller; do
    [[ -x $FLUX_BIN/$name ]] && continue
    started=$(date +%s.%N)
    log "building Flux's $name $FLUX_CONTROLLERS_VERSION from Go modules (cold: several minutes)"
    work=$(mktemp -d)
    cp -r "$(flux_module_dir "$name")" "$work/$name"
    chmod -R u+w "$work/$name"
    (
      cd "$work/$name"
      export GOTOOLCHAIN=local GOFLAGS="-modcacherw -mod=mod" CGO_ENABLED=0
      go mod edit -replace="github.com/fluxcd/$name/api=github.com/fluxcd/$name/api@$FLUX_CONTROLLERS_VERSION"
      for pin in "${FLUX_UNSERVED_MODULES[@]}"; do
        module=${pin%@*}
        if grep -q "^[[:space:]]*$module " go.mod; then go mod edit -replace="$module=$pin"; fi
      done
      nice -n 5 go build -trimpath -ldflags "-s -w" -o "$FLUX_BIN/$name.tmp" .
    )
    mv "$FLUX_BIN/$name.tmp" "$FLUX_BIN/$name"
    rm -rf "$work"
    log "built $name in $(seconds_since "$started")s"
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A fresh control plane with Flux's own CRDs (from the two modules), the namespaces and the git
# credentials; the objects in OBJECTS_FILE created as for tether.
flux_cluster() { # objects-file
  local name
  dev/cluster.sh down >/dev/null 2>&1 || true
  KUBECONFIG=$(dev/cluster.sh up | tail -n 1)
  export KUBECONFIG
  for name in source-controller kustomize-controller; do
    kubectl apply --server-side -f "$(flux_module_dir "$name")/config/crd/bases" >/dev/null
  done
  kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
  kubectl create namespace bench >/dev/null
  kubectl create namespace bench-apps >/dev/null
  kubectl -n bench create secret generic git-auth --from-literal=username=bench \
    --from-literal=password=bench-password >/dev/null
  kubectl create -f "$1" >/dev/null
}

# Both controllers as Flux runs them (leader election off: one replica each), watching the
# namespace `bench` as tether does, with the admin's credentials (Flux's are cluster-admin).
start_flux() { # source-metrics-port kustomize-metrics-port
  local storage
  storage=$(free_port)
  mkdir -p "$WORK/flux-storage"
  RUNTIME_NAMESPACE=bench "$FLUX_BIN/source-controller" --watch-all-namespaces=false \
    --enable-leader-election=false --log-encoding=json --concurrent="$FLUX_SOURCE_CONCURRENT" \
    --storage-path="$WORK/flux-storage" --storage-addr="127.0.0.1:$storage" \
    --storage-adv-addr="127.0.0.1:$storage" --metrics-addr="127.0.0.1:$1" \
    --health-addr=127.0.0.1:0 2>"$WORK/source-controller.log" >&2 &
  FLUX_SOURCE=$!
  PIDS+=("$FLUX_SOURCE")
  RUNTIME_NAMESPACE=bench "$FLUX_BIN/kustomize-controller" --watch-all-namespaces=false \
    --enable-leader-election=false --log-encoding=json --concurrent="$FLUX_KUSTOMIZE_CONCURRENT" \
    --metrics-addr="127.0.0.1:$2" --health-addr=127.0.0.1:0 \
    2>"$WORK/kustomize-controller.log" >&2 &
  FLUX_KUSTOMIZE=$!
  PIDS+=("$FLUX_KUSTOMIZE")
}

flux_requests() { # metrics-file: client-go's request count, every verb
  grep -E '^rest_client_requests_total\{' "$1" | awk '{s += $2} END {print s + 0}'
}
flux_requests_by_method() { # metrics-file
  grep -E '^rest_client_requests_total\{' "$1" |
    sed -E 's/.*method="([A-Z]+)".* ([0-9.e+]+)$/\1 \2/' |
    awk '{s[$1] += $2} END {for (m in s) printf "%s %d, ", m, s[m]}' | sed 's/, $//'
}

# measure_flux APPS OBJECTS_FILE: Flux's two controllers over the same objects on a fresh
# control plane, measured as measure_initial_sync measures tether; sets FLUX_FIGURES.
measure_flux() {
  local started elapsed source_peak kustomize_peak cpu_before load_before requests
  log "Flux: a fresh control plane with Flux's CRDs and the same objects"
  flux_cluster "$2"
  cpu_before=$(cpu_snapshot $$)
  cpu_before=${cpu_before/tether=*([0-9.])/tether=0}
  load_before=$(load_1m)
  apiserver_requests "$WORK/apiserver-before.txt"
  log "starting Flux's source-controller and kustomize-controller; waiting for $1 Ready $READY_KIND"
  start_flux 18085 18086
  started=$(date +%s.%N)
  await_ready "$1" "$started" "$FLUX_SOURCE:$WORK/source-controller.log" \
    "$FLUX_KUSTOMIZE:$WORK/kustomize-controller.log"
  elapsed=$(seconds_since "$started")
  source_peak=$(awk '/VmHWM/ {print $2}' "/proc/$FLUX_SOURCE/status")
  kustomize_peak=$(awk '/VmHWM/ {print $2}' "/proc/$FLUX_KUSTOMIZE/status")
  curl -s "http://127.0.0.1:18085/metrics" >"$WORK/flux-source-metrics.txt"
  curl -s "http://127.0.0.1:18086/metrics" >"$WORK/flux-kustomize-metrics.txt"
  requests=$(($(flux_requests "$WORK/flux-source-metrics.txt") + $(flux_requests "$WORK/flux-kustomize-metrics.txt")))
  echo "Flux initial sync: $1 $READY_KIND Ready in ${elapsed}s; peak RSS source-controller" \
    "$((source_peak / 1024)) MiB + kustomize-controller $((kustomize_peak / 1024)) MiB" \
    "= $(((source_peak + kustomize_peak) / 1024)) MiB"
  echo "  CPU: $(cpu_delta "$cpu_before" "$(cpu_snapshot "$FLUX_KUSTOMIZE")" | sed 's/^tether [0-9.]*s, //')," \
    "source-controller $(cpu_seconds "$FLUX_SOURCE")s, kustomize-controller $(cpu_seconds "$FLUX_KUSTOMIZE")s"
  echo "  Ready by then: ${TIMELINE[*]}"
  echo "  load average (1 min) before: $load_before; during: $(load_summary)"
  echo "  API requests: $requests total; source-controller" \
    "$(flux_requests_by_method "$WORK/flux-source-metrics.txt"); kustomize-controller" \
    "$(flux_requests_by_method "$WORK/flux-kustomize-metrics.txt")"
  apiserver_requests "$WORK/apiserver-after.txt"
  echo "  apiserver requests from every client (>= 50 of a kind):"
  apiserver_delta "$WORK/apiserver-before.txt" "$WORK/apiserver-after.txt"
  FLUX_FIGURES="$elapsed $(((source_peak + kustomize_peak) / 1024)) $requests"
  kill "$FLUX_SOURCE" "$FLUX_KUSTOMIZE" 2>/dev/null || true
  wait "$FLUX_SOURCE" "$FLUX_KUSTOMIZE" 2>/dev/null || true
}

# compare_with_flux APPS: tether's figures (TETHER_FIGURES) next to Flux's, with the ratios.
compare_with_flux() {
  read -r t_seconds t_rss t_requests <<<"$TETHER_FIGURES"
  read -r f_seconds f_rss f_requests <<<"$FLUX_FIGURES"
  awk -v n="$1" -v ts="$t_seconds" -v tr="$t_rss" -v tq="$t_requests" \
    -v fs="$f_seconds" -v fr="$f_rss" -v fq="$f_requests" 'BEGIN {
      printf "tether vs Flux, %d apps: %.1fs vs %.1fs (Flux/tether %.1fx); peak RSS %d vs %d MiB (%.1fx);", n, ts, fs, fs / ts, tr, fr, fr / tr
      printf " API requests %d vs %d (%.1fx)\n", tq, fq, fq / tq
    }'
}
