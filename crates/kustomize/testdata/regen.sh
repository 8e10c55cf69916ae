#!/usr/bin/env bash
# regen.sh -- regenerate expected outputs of the differential cases with real kustomize.
#
# For every testdata/<case>/ the build directory is input/ if it holds a kustomization,
# else input/overlay, else input/top. Success writes expected.yaml (stdout only; kustomize's
# deprecation warnings go to stderr); failure keeps expected-error.txt (hand-written substrings, one
# a line, naming the object or file and the cause) and records kustomize's own message in
# kustomize-error.txt; a new failing case gets an empty expected-error.txt, which the suite
# rejects until someone writes its substrings. The kustomize
# used is $TETHER_KUSTOMIZE, else the testbin build, else `kubectl kustomize`; the version is
# recorded in KUSTOMIZE_VERSION.
set -euo pipefail
cd "$(dirname "$0")"
KUSTOMIZE=${TETHER_KUSTOMIZE:-$(ls "$HOME"/.cache/tether/testbin/*/kustomize 2>/dev/null | head -n1 || true)}
if [[ -n $KUSTOMIZE ]]; then
  run() { "$KUSTOMIZE" build "$1"; }
  "$KUSTOMIZE" version >KUSTOMIZE_VERSION
else
  run() { kubectl kustomize "$1"; }
  kubectl version --client | grep -i kustomize >KUSTOMIZE_VERSION
fi
build_dir() {
  local c=$1
  # Flux cases: kustomize builds the kustomization Flux would generate.
  if [[ -d $c/flux-equivalent ]]; then echo "$c/flux-equivalent"; return; fi
  for d in input input/overlay input/top; do
    for f in kustomization.yaml kustomization.yml Kustomization; do
      if [[ -f $c/$d/$f ]]; then echo "$c/$d"; return; fi
    done
  done
  echo "$c/input"
}
n=0
for c in */; do
  c=${c%/}
  [[ -d $c/input ]] || continue
  dir=$(build_dir "$c")
  if run "$dir" >"$c/expected.yaml" 2>/tmp/regen-err; then
    rm -f "$c/expected-error.txt" "$c/kustomize-error.txt"
  else
    rm -f "$c/expected.yaml"
    [[ -f $c/expected-error.txt ]] || : >"$c/expected-error.txt"
    # Go prints some ids as pointers; their addresses differ from run to run.
    sed -e "s#$PWD/##g" -e "s/0x[0-9a-f]\{6,\}/0x.../g" /tmp/regen-err >"$c/kustomize-error.txt"
  fi
  n=$((n + 1))
done
echo "regenerated $n cases with $(cat KUSTOMIZE_VERSION)"
