#!/usr/bin/env bash
# dev/test.sh -- the whole test suite, from a fresh machine: installs what is missing (Debian
# packages, the Go-built control plane and kustomize, cached under ~/.cache/tether), starts a
# local control plane shared by every test binary, runs every test, and stops the cluster.
#
# Extra arguments go to `cargo test` (e.g. `dev/test.sh -p tether-core`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tether/target}
# The test cluster has its own state and ports, so it never disturbs a `dev/run.sh` cluster.
export TETHER_CLUSTER_DIR=${TETHER_CLUSTER_DIR:-$HOME/.cache/tether/test-cluster}
export TETHER_API_PORT=${TETHER_API_PORT:-16444}
export TETHER_ETCD_PORT=${TETHER_ETCD_PORT:-23792}
export TETHER_ETCD_PEER_PORT=${TETHER_ETCD_PEER_PORT:-23802}

dev/deps.sh
TETHER_TESTBIN=$(dev/testbin.sh | tail -n 1)
export TETHER_TESTBIN
export TETHER_KUSTOMIZE=${TETHER_KUSTOMIZE:-$TETHER_TESTBIN/kustomize}
export TETHER_HELM=${TETHER_HELM:-$TETHER_TESTBIN/helm}
export TETHER_SOPS=${TETHER_SOPS:-$TETHER_TESTBIN/sops}
export TETHER_AGE=${TETHER_AGE:-$TETHER_TESTBIN/age}
export TETHER_FLUX=${TETHER_FLUX:-$TETHER_TESTBIN/flux}
export TETHER_FLUXCTL=${TETHER_FLUXCTL:-$TETHER_TESTBIN/fluxctl}
export TETHER_FLUXD=${TETHER_FLUXD:-$TETHER_TESTBIN/fluxd}
export TETHER_KUBECTL=${TETHER_KUBECTL:-$TETHER_TESTBIN/kubectl}
export TETHER_NATS_SERVER=${TETHER_NATS_SERVER:-$TETHER_TESTBIN/nats-server}

started=$(date +%s)
TETHER_TEST_KUBECONFIG=$(dev/cluster.sh up | tail -n 1)
export TETHER_TEST_KUBECONFIG
echo "test: control plane ready in $(($(date +%s) - started))s" >&2
# The second cluster (remote-cluster tests, `spec.kubeConfig`) is started by the first test that
# needs it (crates/testkit: remote_kubeconfig_path), with its own state and ports.
export TETHER_REMOTE_CLUSTER_DIR=${TETHER_REMOTE_CLUSTER_DIR:-$TETHER_CLUSTER_DIR-remote}
export TETHER_REMOTE_API_PORT=${TETHER_REMOTE_API_PORT:-$((TETHER_API_PORT + 10))}
export TETHER_REMOTE_ETCD_PORT=${TETHER_REMOTE_ETCD_PORT:-$((TETHER_ETCD_PORT + 20))}
export TETHER_REMOTE_ETCD_PEER_PORT=${TETHER_REMOTE_ETCD_PEER_PORT:-$((TETHER_ETCD_PEER_PORT + 20))}
stop_clusters() {
  dev/cluster.sh down
  TETHER_CLUSTER_DIR=$TETHER_REMOTE_CLUSTER_DIR TETHER_API_PORT=$TETHER_REMOTE_API_PORT \
    TETHER_ETCD_PORT=$TETHER_REMOTE_ETCD_PORT TETHER_ETCD_PEER_PORT=$TETHER_REMOTE_ETCD_PEER_PORT \
    dev/cluster.sh down
}
if [[ ${TETHER_KEEP_CLUSTER:-0} != 1 ]]; then trap stop_clusters EXIT; fi

# The whole workspace unless packages are named (`--workspace` would override `-p`).
scope=(--workspace)
for arg in "$@"; do [[ $arg == -p || $arg == --package* ]] && scope=(); done
cargo test "${scope[@]}" --no-fail-fast "$@"
