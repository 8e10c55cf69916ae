#!/usr/bin/env bash
# bench/kustomize/random.sh -- run N fresh random overlays through tether and real kustomize.
#
# Usage: bench/kustomize/random.sh [N] [FROM]. N defaults to 5000; FROM (the first seed)
# defaults to one derived from the clock, so each run tries new trees. Prints every seed whose
# output differs and the share of byte-identical (or both-failing) builds. Turn a difference
# into a named case with TETHER_RANDOM_DUMP=<seed> TETHER_RANDOM_DUMP_DIR=<dir> (see
# crates/kustomize/tests/random_overlays.rs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tether/target-kustomize}
export TETHER_RANDOM_CASES=${1:-5000}
if [[ -n ${2:-} ]]; then export TETHER_RANDOM_FROM=$2; fi
cd "$ROOT"
cargo test -q --release -p tether-kustomize --test random_overlays random_overlays_match_real_kustomize \
  -- --nocapture 2>&1 | grep -E '^(seed|fresh|random overlays)'
