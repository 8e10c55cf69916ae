#!/usr/bin/env bash
# bench/kustomize/run.sh -- time tether's native kustomize build against real kustomize.
#
# Generates a tree with N_BASES bases (Deployment, Service, ServiceAccount, ConfigMap each) and
# N_OVERLAYS overlays that each include every base and add a namespace, a prefix, labels,
# images, a strategic-merge patch, a JSON patch and a configMap/secret generator; the top
# kustomization includes every overlay. Prints wall time and peak RSS of each tool and the ratio.
set -euo pipefail
N_BASES=${N_BASES:-25}
N_OVERLAYS=${N_OVERLAYS:-24}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# KEEP_TREE=DIR copies the generated tree to DIR (for profiling).
KEEP_TREE=${KEEP_TREE:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tether/target-kustomize}
(cd "$ROOT" && cargo build -q --release -p tether-kustomize --example kbuild)
KBUILD=$CARGO_TARGET_DIR/release/examples/kbuild
KUSTOMIZE=${TETHER_KUSTOMIZE:-$(ls "$HOME"/.cache/tether/testbin/*/kustomize 2>/dev/null | head -n1 || true)}

gen_base() {
  local b=$1 d=$WORK/tree/bases/b$1
  mkdir -p "$d"
  cat >"$d/kustomization.yaml" <<K
resources: [deploy.yaml, svc.yaml, sa.yaml, cm.yaml]
K
  cat >"$d/deploy.yaml" <<K
apiVersion: apps/v1
kind: Deployment
metadata: {name: app$b, labels: {app: app$b}}
spec:
  replicas: 0
  selector: {matchLabels: {app: app$b}}
  template:
    metadata: {labels: {app: app$b}}
    spec:
      serviceAccountName: sa$b
      containers:
      - name: main
        image: nginx:1.25
        envFrom: [{configMapRef: {name: cm$b}}]
K
  cat >"$d/svc.yaml" <<K
apiVersion: v1
kind: Service
metadata: {name: app$b}
spec: {selector: {app: app$b}, ports: [{port: 80}]}
K
  cat >"$d/sa.yaml" <<K
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa$b}
K
  cat >"$d/cm.yaml" <<K
apiVersion: v1
kind: ConfigMap
metadata: {name: cm$b}
data: {key: value$b}
K
}

gen_overlay() {
  local o=$1 d=$WORK/tree/overlays/o$1
  mkdir -p "$d"
  {
    echo "resources:"
    for b in $(seq 1 "$N_BASES"); do echo "- ../../bases/b$b"; done
    cat <<K
namespace: ns$o
namePrefix: o$o-
labels:
- pairs: {overlay: o$o}
  includeSelectors: true
images:
- {name: nginx, newTag: "1.$o"}
patches:
- target: {kind: Deployment}
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: any}
    spec:
      template:
        spec:
          containers:
          - name: main
            env: [{name: OVERLAY, value: o$o}]
- target: {kind: Service}
  patch: '[{"op": "add", "path": "/metadata/annotations", "value": {"overlay": "o$o"}}]'
configMapGenerator:
- {name: extra, literals: [overlay=o$o]}
secretGenerator:
- {name: token, literals: [token=t$o]}
K
  } >"$d/kustomization.yaml"
}

for b in $(seq 1 "$N_BASES"); do gen_base "$b"; done
for o in $(seq 1 "$N_OVERLAYS"); do gen_overlay "$o"; done
{ echo "resources:"; for o in $(seq 1 "$N_OVERLAYS"); do echo "- overlays/o$o"; done; } >"$WORK/tree/kustomization.yaml"

[[ -n $KEEP_TREE ]] && { rm -rf "$KEEP_TREE"; cp -r "$WORK/tree" "$KEEP_TREE"; }

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/$name.yaml" 2>/dev/null
  read -r secs kb <"$WORK/time"
  printf '%-22s %8.2f s %8d KiB peak RSS\n' "$name" "$secs" "$kb"
  echo "$secs" >"$WORK/$name.secs"
}

echo "tree: $N_BASES bases x $N_OVERLAYS overlays = $(grep -c '^kind:' <(cat "$WORK"/tree/bases/*/*.yaml) | awk -v o="$N_OVERLAYS" '{print $1 * o}') resources + generated"
measure tether "$KBUILD" "$WORK/tree"
measure kubectl-kustomize kubectl kustomize "$WORK/tree"
[[ -n $KUSTOMIZE ]] && measure kustomize-v5.8 "$KUSTOMIZE" build "$WORK/tree"
echo "objects: $(grep -c '^kind:' "$WORK/tether.yaml")"
if cmp -s "$WORK/tether.yaml" "$WORK/kubectl-kustomize.yaml"; then echo "output identical to kubectl kustomize"; else echo "OUTPUT DIFFERS from kubectl kustomize"; fi
[[ -n $KUSTOMIZE ]] && { cmp -s "$WORK/tether.yaml" "$WORK/kustomize-v5.8.yaml" && echo "output identical to kustomize v5.8" || echo "OUTPUT DIFFERS from kustomize v5.8"; }
for other in kubectl-kustomize kustomize-v5.8; do
  [[ -f $WORK/$other.secs ]] && awk -v a="$(cat "$WORK/$other.secs")" -v b="$(cat "$WORK/tether.secs")" -v n="$other" \
    'BEGIN { printf "speedup vs %s: %.1fx\n", n, (b > 0 ? a / b : 0) }'
done
