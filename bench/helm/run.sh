#!/usr/bin/env bash
# bench/helm/run.sh -- time tether's native helm template against the Go-built helm.
#
# Generates N_CHARTS charts from the `helm create` scaffold, each vendoring the scaffold as a
# subchart and with its own values, plus one chart of N_TEMPLATES templates (helpers,
# include, toYaml, tpl). Renders every chart once per tool, one process per chart as a user or
# a controller would, checks that the outputs are identical, and prints wall time and peak RSS
# (/usr/bin/time -v) of each tool and the ratios.
#
# HTEMPLATE_TARGET=x86_64-unknown-linux-musl builds the driver static, as Go builds helm
# (the target is added with rustup; ring's C is built with the host gcc: it uses only
# stddef/stdint/string/stdlib declarations, which glibc's headers give as musl defines
# them). TETHER_HTEMPLATE=path uses a driver built elsewhere; BENCH_KEEP=1 keeps the
# generated charts.
set -euo pipefail
N_CHARTS=${N_CHARTS:-200}
N_TEMPLATES=${N_TEMPLATES:-300}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
[[ -n ${BENCH_KEEP:-} ]] || trap 'rm -rf "$WORK"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tether/target-helm}
if [[ -n ${TETHER_HTEMPLATE:-} ]]; then
  TETHER=$TETHER_HTEMPLATE
elif [[ -n ${HTEMPLATE_TARGET:-} ]]; then
  rustup target add "$HTEMPLATE_TARGET" >/dev/null
  target_cc=CC_${HTEMPLATE_TARGET//-/_}
  (cd "$ROOT" && env "$target_cc=${!target_cc:-gcc}" \
    cargo build -q --release -p tether-helm --example htemplate --target "$HTEMPLATE_TARGET")
  TETHER=$CARGO_TARGET_DIR/$HTEMPLATE_TARGET/release/examples/htemplate
else
  (cd "$ROOT" && cargo build -q --release -p tether-helm --example htemplate)
  TETHER=$CARGO_TARGET_DIR/release/examples/htemplate
fi
HELM=${TETHER_HELM:-$(ls "$HOME"/.cache/tether/testbin/*/helm 2>/dev/null | head -n1 || true)}
[[ -x $HELM ]] || { echo "no helm binary: run dev/testbin.sh or set TETHER_HELM" >&2; exit 1; }
export HELM_CACHE_HOME=$WORK/.helm/cache HELM_CONFIG_HOME=$WORK/.helm/config HELM_DATA_HOME=$WORK/.helm/data

cd "$WORK"
"$HELM" create scaffold >/dev/null
for i in $(seq 1 "$N_CHARTS"); do
  c=charts/app$i
  mkdir -p "$c/charts"
  cp -r scaffold/templates scaffold/values.yaml "$c/"
  cp -r scaffold "$c/charts/base"
  sed -e "s/^name: scaffold/name: app$i/" scaffold/Chart.yaml >"$c/Chart.yaml"
  printf 'dependencies:\n  - name: scaffold\n    version: 0.1.0\n    repository: file://charts/base\n' >>"$c/Chart.yaml"
  sed -i "s/^replicaCount: 1/replicaCount: $((i % 5 + 1))/" "$c/values.yaml"
  if ((i % 2)); then printf 'ingress:\n  enabled: true\nscaffold:\n  autoscaling:\n    enabled: true\n' >>"$c/values.yaml"; fi
done

big=charts/big
mkdir -p "$big/templates"
printf 'apiVersion: v2\nname: big\nversion: 1.0.0\n' >"$big/Chart.yaml"
{
  echo 'global: {env: prod, region: eu}'
  echo 'common:'
  echo '  labels: {team: core, tier: backend}'
  echo '  resources: {limits: {cpu: 500m, memory: 1Gi}, requests: {cpu: 100m, memory: 128Mi}}'
  echo 'greeting: "{{ .Release.Name }} in {{ .Values.global.env }}"'
} >"$big/values.yaml"
cat >"$big/templates/_helpers.tpl" <<'T'
{{- define "big.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ toYaml .Values.common.labels }}
{{- end -}}
{{- define "big.name" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
T
for t in $(seq 1 "$N_TEMPLATES"); do
  cat >"$big/templates/cm$t.yaml" <<T
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "big.name" . }}-$t
  labels:
    {{- include "big.labels" . | nindent 4 }}
data:
  index: "$t"
  greeting: {{ tpl .Values.greeting . | quote }}
  resources: |
    {{- toYaml .Values.common.resources | nindent 4 }}
  {{- range \$k, \$v := .Values.global }}
  {{ \$k }}: {{ \$v | upper | quote }}
  {{- end }}
T
done

run_all() { # tool, output file
  for c in charts/*; do "$1" template rel "$c"; done >"$2"
}
measure() { # label, tool
  /usr/bin/time -v bash -c "$(declare -f run_all); run_all '$2' '$WORK/$1.out'" 2>"$WORK/$1.time"
  local wall rss cpu
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/$1.time")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/$1.time")
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$WORK/$1.time")
  echo "$1 $wall $rss $cpu"
}
n=$(ls charts | wc -l)
read -r _ hwall hrss hcpu < <(measure helm "$HELM")
read -r _ twall trss tcpu < <(measure tether "$TETHER")
if cmp -s helm.out tether.out; then same=identical; else same=DIFFERENT; fi
secs() { awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }' <<<"$1"; }
hs=$(secs "$hwall"); ts=$(secs "$twall")
echo "charts: $n ($((n - 1)) scaffolds with a subchart, 1 chart of $N_TEMPLATES templates); outputs $same"
printf 'helm template:   %6.2f s wall (%5.1f ms/chart), %6.2f s CPU, peak RSS %6.1f MiB\n' "$hs" "$(awk "BEGIN{print 1000*$hs/$n}")" "$hcpu" "$(awk "BEGIN{print $hrss/1024}")"
printf 'tether (native): %6.2f s wall (%5.1f ms/chart), %6.2f s CPU, peak RSS %6.1f MiB\n' "$ts" "$(awk "BEGIN{print 1000*$ts/$n}")" "$tcpu" "$(awk "BEGIN{print $trss/1024}")"
printf 'ratio: %.1fx faster (wall), %.1fx less CPU, %.1fx less memory; load average %s\n' \
  "$(awk "BEGIN{print $hs/($ts>0?$ts:0.001)}")" "$(awk "BEGIN{print $hcpu/($tcpu>0?$tcpu:0.001)}")" \
  "$(awk "BEGIN{print $hrss/$trss}")" "$(cut -d' ' -f1 /proc/loadavg)"
for tool in helm tether; do
  bin=$HELM; [[ $tool == tether ]] && bin=$TETHER
  /usr/bin/time -v "$bin" template rel "$big" >/dev/null 2>"$WORK/big.$tool.time"
  printf '%-6s on the %s-template chart: %s wall, peak RSS %s KiB\n' "$tool" "$N_TEMPLATES" \
    "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/big.$tool.time")" \
    "$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/big.$tool.time")"
done
