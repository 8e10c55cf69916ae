# bench/sync/lib.sh -- what the sync benchmarks share, sourced by run.sh and one.sh: a fresh
# local control plane of their own, the tether build, the application manifests, a git server,
# the install (CRDs, RBAC, admission policy) with the controller's ServiceAccount credentials,
# and the controller's metrics and CPU figures.
# Environment: BENCH_API_PORT, BENCH_ETCD_PORT, BENCH_ETCD_PEER_PORT move the cluster off
# 16445, 23793, 23803 and BENCH_CLUSTER_DIR its state off ~/.cache/tether/bench-cluster (two
# benchmarks at once need both); BENCH_BIN=DIR uses the tether and tether-git-serve binaries there
# instead of building; BENCH_KEEP=DIR keeps the controller logs and metrics there;
# CONCURRENT=N sets --concurrent (default 20, as the controller's); BENCH_FLUX=1 also runs
# Flux's source-controller and kustomize-controller over the same objects (bench/sync/flux.sh).
set -euo pipefail
shopt -s extglob
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
CONCURRENT=${CONCURRENT:-20}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tether/target}
# A cluster of its own, started fresh, so earlier runs' objects do not weigh on this one.
export TETHER_CLUSTER_DIR=${BENCH_CLUSTER_DIR:-$HOME/.cache/tether/bench-cluster} TETHER_API_PORT=${BENCH_API_PORT:-16445}
export TETHER_ETCD_PORT=${BENCH_ETCD_PORT:-23793} TETHER_ETCD_PEER_PORT=${BENCH_ETCD_PEER_PORT:-23803}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  dev/cluster.sh down >/dev/null 2>&1 || true
  if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp "$WORK"/*.{log,txt} "$BENCH_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }
source "$ROOT/bench/sync/flux.sh"

# Starts the cluster (after checking its ports are free) and sets BIN to the binaries to run.
bench_start() {
  dev/deps.sh
  dev/cluster.sh down >/dev/null 2>&1 || true
  # Another cluster on these ports would be benchmarked (and filled with apps) instead.
  local port
  for port in "$TETHER_API_PORT" "$TETHER_ETCD_PORT" "$TETHER_ETCD_PEER_PORT"; do
    if ss -ltn "sport = :$port" | grep -q LISTEN; then
      log "port $port is taken by another process; set BENCH_API_PORT / BENCH_ETCD_PORT / BENCH_ETCD_PEER_PORT"
      exit 1
    fi
  done
  # Flux's build, when it has to happen, is done before any clock starts.
  if [[ ${BENCH_FLUX:-0} == 1 ]]; then build_flux_controllers; fi
  KUBECONFIG=$(dev/cluster.sh up | tail -n 1)
  export KUBECONFIG
  if [[ -n ${BENCH_BIN:-} ]]; then
    BIN=$BENCH_BIN # prebuilt tether and tether-git-serve, to compare two builds under the same load
  else
    log "building tether (release)"
    cargo build -q --release -p tether -p tether-testkit --bins
    BIN=$CARGO_TARGET_DIR/release
  fi
}

# write_app DIR NAME: one application (ServiceAccount, Deployment with 0 replicas, Service,
# Ingress) in DIR/app.yaml.
write_app() {
  mkdir -p "$1"
  cat >"$1/app.yaml" <<APP
apiVersion: v1
kind: ServiceAccount
metadata:
  name: $2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $2
spec:
  replicas: 0
  selector:
    matchLabels: {app: $2}
  template:
    metadata:
      labels: {app: $2}
    spec:
      serviceAccountName: $2
      containers:
      - name: app
        image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: $2
spec:
  selector: {app: $2}
  ports:
  - port: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $2
spec:
  rules:
  - host: $2.example.test
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: $2, port: {number: 80}}
APP
}

# label_from_substitution FILE: the first object in FILE gets a label from the Kustomization's
# postBuild substitution (`${team}`), as in Flux's benchmark.
label_from_substitution() {
  sed -i '0,/^  name: /s//  labels: {team: "${team}"}\n  name: /' "$1"
}

# publish_apps APPS [substituted]: APPS applications under apps/app-NNNN/ of a repository served
# over smart HTTP with basic auth (with `substituted`, each with label_from_substitution); sets
# URL to it.
publish_apps() {
  git init -q -b main "$WORK/tree"
  local i app
  for ((i = 1; i <= $1; i++)); do
    app=$(printf 'app-%04d' "$i")
    write_app "$WORK/tree/apps/$app" "$app"
    if [[ ${2:-} == substituted ]]; then label_from_substitution "$WORK/tree/apps/$app/app.yaml"; fi
  done
  git init -q --bare -b main "$WORK/git/apps.git"
  git -C "$WORK/tree" add -A
  git -C "$WORK/tree" -c user.name=bench -c user.email=bench@example.test commit -qm "$1 apps"
  git -C "$WORK/tree" push -q "$WORK/git/apps.git" main
  "$BIN/tether-git-serve" "$WORK/git" bench bench-password >"$WORK/serve.out" &
  PIDS+=($!)
  for _ in $(seq 1 50); do [[ -s $WORK/serve.out ]] && break; sleep 0.1; done
  URL="$(head -n 1 "$WORK/serve.out")/apps.git"
}

# Everything `tether install --admission-policy` creates but the controller's Deployment: the
# controller runs here, outside the cluster, with the credentials it has in the cluster (its
# ServiceAccount's token, its RBAC) rather than the admin's client certificate; Kustomizations
# get their finalizer from the admission policy. Also the namespaces `bench` (sources and
# Kustomizations) and `bench-apps` (what they apply), and the git credentials.
install_tether() {
  "$BIN/tether" install --export --admission-policy |
    awk 'BEGIN {RS = "---\n"} !/(^|\n)kind: Deployment\n/ && NF {printf "---\n%s", $0}' |
    kubectl apply --server-side -f - >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
  local token
  token=$(kubectl -n flux-system create token tether-controller --duration=2h)
  kubectl config view --raw --minify >"$WORK/controller.kubeconfig"
  KUBECONFIG=$WORK/controller.kubeconfig kubectl config set-credentials tether-controller \
    --token="$token" >/dev/null
  KUBECONFIG=$WORK/controller.kubeconfig kubectl config set-context --current \
    --user=tether-controller >/dev/null
  kubectl create namespace bench >/dev/null
  kubectl create namespace bench-apps >/dev/null
  # The apiserver refuses objects of a kind an admission policy matches until it has mapped the
  # new CRDs (ServiceUnavailable): wait until a dry-run create comes back with the finalizer.
  local probe='{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
    "metadata": {"name": "probe", "namespace": "bench"},
    "spec": {"interval": "1h", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "apps"}}}'
  local finalizers
  for _ in $(seq 1 150); do
    finalizers=$(kubectl create --dry-run=server -o jsonpath='{.metadata.finalizers}' -f - <<<"$probe" 2>/dev/null || true)
    [[ $finalizers == *finalizers.fluxcd.io* ]] && break
    sleep 0.2
  done
  kubectl -n bench create secret generic git-auth --from-literal=username=bench \
    --from-literal=password=bench-password >/dev/null
}

# The GitRepository `apps` over $URL, as YAML.
git_repository_yaml() {
  cat <<SOURCE
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: apps, namespace: bench}
spec: {url: "$URL", interval: 1h, ref: {branch: main}, secretRef: {name: git-auth}}
SOURCE
}

metric_sum() { # metrics-file verb-regex dry-run(true|false|.*)
  grep -E "^tether_api_requests_total\{verb=\"$2\",dry_run=\"$3\"\}" "$1" | awk '{s += $2} END {print s + 0}'
}

start_controller() { # metrics-port
  KUBECONFIG=$WORK/controller.kubeconfig "$BIN/tether" controller --watch-namespace bench --storage-path "$WORK/storage" \
    --health-addr 127.0.0.1:0 --metrics-addr "127.0.0.1:$1" --storage-addr 127.0.0.1:0 --events-addr 127.0.0.1:0 --receiver-addr 127.0.0.1:0 --concurrent "$CONCURRENT" \
    --log-encoding json 2>"$WORK/controller-$1.log" &
  CONTROLLER=$!
  PIDS+=("$CONTROLLER")
}

requests_line() { # metrics-file: the controller's API requests by kind
  local f=$1
  echo "$(metric_sum "$f" '[a-z]+' '[a-z]+') total;" \
    "gets/lists $(metric_sum "$f" get false), watches $(metric_sum "$f" watch false)," \
    "dry-run patches $(metric_sum "$f" patch true)," \
    "writes $(metric_sum "$f" '(create|update|patch|delete)' false)"
}

report_requests() { # metrics-file
  echo "  API requests: $(requests_line "$1")"
}

cpu_seconds() { # pid: user+system CPU seconds so far
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0
}
cpu_snapshot() { # controller-pid: "name=seconds ..." for tether and the control plane
  local out="tether=$(cpu_seconds "$1")" name
  for name in kube-apiserver etcd kube-controller-manager; do
    out+=" $name=$(cpu_seconds "$(cat "$TETHER_CLUSTER_DIR/pids/$name.pid")")"
  done
  echo "$out"
}
cpu_delta() { # before after
  paste -d' ' <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") |
    awk '{split($1, a, "="); split($2, b, "="); printf "%s %.1fs, ", a[1], b[2] - a[2]}' | sed 's/, $//'
}
seconds_since() { # start (date +%s.%N)
  awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN {printf "%.2f", a - b}'
}

# The kind whose Ready objects the initial sync waits for, and its name in the report.
READY_RESOURCE=${READY_RESOURCE:-kustomizations.kustomize.toolkit.fluxcd.io}
READY_KIND=${READY_KIND:-Kustomizations}

ready_count() {
  kubectl -n bench get "$READY_RESOURCE" -o json |
    jq '[.items[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length'
}

apiserver_requests() { # output-file: the apiserver's own request counters, every client
  kubectl get --raw /metrics | grep -E '^apiserver_request_total\{' >"$1"
}
apiserver_delta() { # before after [min]: requests served meanwhile by verb and resource (all clients)
  awk -v min="${3:-50}" '
    function key(line,   v, r, s, d) {
      match(line, /verb="[^"]*"/); v = substr(line, RSTART + 6, RLENGTH - 7)
      match(line, /resource="[^"]*"/); r = substr(line, RSTART + 10, RLENGTH - 11)
      s = ""; if (match(line, /subresource="[^"]*"/)) s = substr(line, RSTART + 13, RLENGTH - 14)
      d = ""; if (match(line, /dry_run="[^"]*"/)) d = substr(line, RSTART + 9, RLENGTH - 10)
      return v " " r (s == "" ? "" : "/" s) (d == "" ? "" : " (dry-run)")
    }
    FNR == NR { before[key($0)] += $NF; next }
    { after[key($0)] += $NF }
    END { for (k in after) if (after[k] - before[k] >= min) printf "    %6d %s\n", after[k] - before[k], k }
  ' "$1" "$2" | sort -rn
}

load_1m() { cut -d' ' -f1 /proc/loadavg; }
load_summary() { # the machine's 1-minute load average sampled during the last await_ready
  printf '%s\n' "${LOADS[@]}" | awk '{s += $1; if ($1 > m) m = $1} END {printf "mean %.1f, max %.1f", s / NR, m}'
}

# await_ready APPS STARTED [PID:LOG...]: returns once every object of $READY_RESOURCE in `bench`
# is Ready; sets TIMELINE (Ready objects every 2 s) and LOADS (the machine's load average
# meanwhile). Exits with the end of its log when one of the processes PID (the controllers being
# measured) has exited meanwhile, rather than waiting for objects nobody reconciles any more.
await_ready() {
  local now next_sample=2 watched
  # Readiness comes from a watch (the apiserver sends the events it serves the controller anyway),
  # then one authoritative LIST: polling 1000 objects, or the controller's metrics (1.8 MB for
  # 1000 Kustomizations), several times a second would load the processes being measured.
  : >"$WORK/ready.stream" # read before kubectl has opened it
  kubectl -n bench get "$READY_RESOURCE" --watch \
    -o jsonpath='{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}' \
    >"$WORK/ready.stream" 2>/dev/null &
  local watch=$!
  PIDS+=("$watch")
  ready_seen() { awk '$2 == "True" && !seen[$1]++ {n++} END {print n + 0}' "$WORK/ready.stream"; }
  TIMELINE=() LOADS=("$(load_1m)")
  until (($(ready_seen) >= $1)) && (($(ready_count) >= $1)); do
    sleep 0.1
    for watched in "${@:3}"; do
      if ! kill -0 "${watched%%:*}" 2>/dev/null; then
        log "process ${watched%%:*} exited before $1 $READY_KIND were Ready ($(ready_seen) were); the end of ${watched#*:}:"
        tail -n 20 "${watched#*:}" >&2
        exit 1
      fi
    done
    now=$(awk -v a="$(date +%s.%N)" -v b="$2" 'BEGIN {printf "%d", a - b}')
    if ((now >= next_sample)); then
      TIMELINE+=("${now}s:$(ready_seen)") LOADS+=("$(load_1m)")
      next_sample=$((now + 2))
    fi
  done
  kill "$watch" 2>/dev/null || true
}

# measure_initial_sync APPS METRICS_PORT: starts the controller and prints the seconds until
# every object of $READY_RESOURCE in `bench` is Ready, its peak RSS and CPU, and the requests it and every
# other client made meanwhile; sets TETHER_FIGURES (seconds, MiB, requests) for compare_with_flux.
measure_initial_sync() {
  local started elapsed peak cpu_before cpu_after load_before
  cpu_before=$(cpu_snapshot $$)
  load_before=$(load_1m)
  apiserver_requests "$WORK/apiserver-before.txt"
  start_controller "$2"
  started=$(date +%s.%N)
  await_ready "$1" "$started" "$CONTROLLER:$WORK/controller-$2.log"
  elapsed=$(seconds_since "$started")
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$CONTROLLER/status")
  cpu_after=$(cpu_snapshot "$CONTROLLER")
  cpu_before=${cpu_before/tether=*([0-9.])/tether=0}
  curl -s http://127.0.0.1:$2/metrics >"$WORK/metrics-initial.txt"
  grep -E "^controller_runtime_reconcile_total" "$WORK/metrics-initial.txt" | sed "s/^/  /" >&2 || true
  echo "initial sync: $1 $READY_KIND Ready in ${elapsed}s; controller peak RSS $((peak / 1024)) MiB"
  echo "  CPU: $(cpu_delta "$cpu_before" "$cpu_after")"
  echo "  Ready by then: ${TIMELINE[*]}"
  echo "  load average (1 min) before: $load_before; during: $(load_summary)"
  report_requests "$WORK/metrics-initial.txt"
  apiserver_requests "$WORK/apiserver-after.txt"
  echo "  apiserver requests from every client (>= 50 of a kind):"
  apiserver_delta "$WORK/apiserver-before.txt" "$WORK/apiserver-after.txt"
  TETHER_FIGURES="$elapsed $((peak / 1024)) $(metric_sum "$WORK/metrics-initial.txt" '[a-z]+' '[a-z]+')"
}
