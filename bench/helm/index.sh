#!/usr/bin/env bash
# bench/helm/index.sh -- memory and time of reading a large Helm repository index.
#
# Runs tether-source's helm_index_memory test in an optimised build: it writes an index of
# 3000 charts x 20 versions (descriptions, maintainers, annotations, as `helm repo index`
# writes them; ~42 MiB), parses it into the compact typed index, and prints the parse time and
# the peak growth of the resident set (VmHWM), failing above its per-version bound.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tether/target-helm}
cd "$ROOT"
cargo test -q --release -p tether-source --test helm_index_memory -- --nocapture 2>&1 |
  grep -E '^index|panicked|bound'
