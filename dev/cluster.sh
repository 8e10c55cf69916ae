#!/usr/bin/env bash
# dev/cluster.sh -- a real local Kubernetes control plane on loopback, without Docker.
#
#   dev/cluster.sh up      start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
#                          kwok (fake kubelets) with one fake Node; idempotent: a running cluster is
#                          reused. Prints the admin kubeconfig path last.
#   dev/cluster.sh down    stop them (by recorded PID) and delete etcd's data.
#   dev/cluster.sh status  exit 0 when the apiserver answers /readyz.
#
# Each cluster issues ServiceAccount tokens as https://127.0.0.1:<its port> and serves that
# issuer's discovery documents (/.well-known/openid-configuration, /openid/v1/jwks) to anyone,
# as a federated cluster does. With TETHER_TRUST_CLUSTER_DIR and TETHER_TRUST_API_PORT naming
# another cluster of this script, the apiserver also accepts that cluster's ServiceAccount
# tokens (structured AuthenticationConfiguration, JWT issuer = the other cluster's) whose audience
# is this cluster's address, as user TETHER_TRUST_USERNAME_PREFIX (default "trusted:") followed by
# the token's subject, e.g. trusted:system:serviceaccount:ns:name.
#
# State lives in $TETHER_CLUSTER_DIR (default ~/.cache/tether/cluster). Concurrent callers (several
# test binaries at once) serialise on a lock file, so the cluster is started once and shared.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${TETHER_CLUSTER_DIR:-$HOME/.cache/tether/cluster}
API_PORT=${TETHER_API_PORT:-16443}
ETCD_PORT=${TETHER_ETCD_PORT:-23791}
ETCD_PEER_PORT=${TETHER_ETCD_PEER_PORT:-23801}
KUBECONFIG_FILE=$DIR/admin.kubeconfig
PKI=$DIR/pki
ISSUER=https://127.0.0.1:$API_PORT
AUTHN_CONFIG=$DIR/authentication-config.yaml
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
mkdir -p "$DIR"/{logs,pids}
log() { echo "cluster: $*" >&2; }

api() {
  curl -sf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$API_PORT$1" "${@:2}"
}

wait_until() { # description timeout-seconds command...
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  log "timed out after ${seconds}s waiting for $what; last log lines:"
  tail -n 20 "$DIR"/logs/*.log >&2
  return 1
}

start() { # name command...
  local name=$1
  shift
  # fd 9 holds the lock: the daemons must not inherit it, or the lock outlives this script.
  nohup "$@" >"$DIR/logs/$name.log" 2>&1 9>&- &
  echo $! >"$DIR/pids/$name.pid"
}

# Test-only PKI: a CA, the apiserver's serving cert, an admin client cert (system:masters) and
# the service-account signing key pair.
make_pki() {
  mkdir -p "$PKI" && cd "$PKI"
  local ec=(openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  "${ec[@]}" -x509 -days 3650 -subj "/CN=tether-test-ca" -keyout ca.key -out ca.crt \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  sign() { # name subject extra-extensions
    "${ec[@]}" -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
  }
  sign apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1"
  sign admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  chmod 600 ./*.key
  cd - >/dev/null
}

write_kubeconfig() {
  cat >"$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tether-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 "$PKI/admin.crt")
    client-key-data: $(base64 -w0 "$PKI/admin.key")
contexts:
- name: tether-local
  context: {cluster: tether-local, user: admin}
current-context: tether-local
EOF
  mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

start_etcd() {
  start etcd "$BIN/etcd" --name=tether --data-dir="$DIR/etcd" --log-level=warn --unsafe-no-fsync \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="tether=http://127.0.0.1:$ETCD_PEER_PORT"
  wait_until etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

start_apiserver() {
  local advertise=()
  # A loopback advertise address is rejected; without a default route nothing is auto-detected.
  if ! ip route show default 2>/dev/null | grep -q .; then advertise=(--advertise-address=192.0.2.10); fi
  start kube-apiserver "$BIN/kube-apiserver" "${advertise[@]}" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$API_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --service-account-issuer="$ISSUER" --service-account-jwks-uri="$ISSUER/openid/v1/jwks" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --authorization-mode=RBAC --allow-privileged=true \
    "${trust[@]}" --cert-dir="$DIR/apiserver-certs"
  wait_until kube-apiserver 120 api /readyz
}

# The AuthenticationConfiguration trusting the cluster of TETHER_TRUST_CLUSTER_DIR, on stdout;
# nothing without it.
trusted_issuer_config() {
  local other=${TETHER_TRUST_CLUSTER_DIR:-}
  [[ -n $other ]] || return 0
  local port=${TETHER_TRUST_API_PORT:?TETHER_TRUST_API_PORT must name the trusted cluster port}
  if [[ ! -f $other/pki/ca.crt ]]; then
    log "TETHER_TRUST_CLUSTER_DIR=$other has no pki/ca.crt: start that cluster first"
    return 1
  fi
  cat <<EOF
apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: https://127.0.0.1:$port
    certificateAuthority: |
$(sed 's/^/      /' "$other/pki/ca.crt")
    audiences: ["$ISSUER"]
  claimMappings:
    username:
      claim: sub
      prefix: "${TETHER_TRUST_USERNAME_PREFIX:-trusted:}"
EOF
}

# Anyone may read the issuer discovery documents (the default binding admits ServiceAccounts).
# A failed create is fine only when the binding is already there.
allow_issuer_discovery() {
  local bindings=/apis/rbac.authorization.k8s.io/v1/clusterrolebindings
  api "$bindings" -X POST \
    -H 'Content-Type: application/json' -d '{
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
    "metadata": {"name": "tether:service-account-issuer-discovery"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                "name": "system:service-account-issuer-discovery"},
    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                  "name": "system:unauthenticated"}]}' >/dev/null ||
    api "$bindings/tether:service-account-issuer-discovery" >/dev/null
}

start_controllers() {
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$KUBECONFIG_FILE" --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
    --use-service-account-credentials=false --kube-api-qps=200 --kube-api-burst=400 \
    --concurrent-deployment-syncs=10 --concurrent-replicaset-syncs=10
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$KUBECONFIG_FILE" --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
    --kube-api-qps=200 --kube-api-burst=400
  start kwok "$BIN/kwok" --kubeconfig="$KUBECONFIG_FILE" --config="$BIN/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr=10.244.0.0/16 --node-ip=10.0.0.2 --node-lease-duration-seconds=40
}

node_ready() {
  api /api/v1/nodes/kwok-node-0 | jq -e '
    ([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length == 1)
    and ([.spec.taints[]? | select(.key | startswith("node.kubernetes.io/"))] | length == 0)'
}

create_fake_node() {
  api /api/v1/nodes -X POST -H 'Content-Type: application/json' -d '{
    "apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "kwok-node-0",
      "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
      "labels": {"kubernetes.io/hostname": "kwok-node-0", "kubernetes.io/os": "linux",
                 "kubernetes.io/arch": "amd64", "type": "kwok"}},
    "status": {"allocatable": {"cpu": "64", "memory": "512Gi", "pods": "10000"},
               "capacity": {"cpu": "64", "memory": "512Gi", "pods": "10000"}}}' >/dev/null || true
  wait_until "node kwok-node-0 Ready and untainted" 120 node_ready
  wait_until "default ServiceAccount" 60 api /api/v1/namespaces/default/serviceaccounts/default
}

running() { # name
  local file=$DIR/pids/$1.pid
  [[ -f $file ]] && kill -0 "$(cat "$file")" 2>/dev/null
}

stop_all() {
  local name pid i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    name=${COMPONENTS[$i]}
    [[ -f $DIR/pids/$name.pid ]] || continue
    pid=$(cat "$DIR/pids/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$DIR/pids/$name.pid"
  done
  rm -rf "$DIR/etcd"
}

cmd_up() {
  exec 9>"$DIR/lock"
  flock 9
  local all_running=1 name trusted
  for name in "${COMPONENTS[@]}"; do running "$name" || all_running=0; done
  trusted=$(trusted_issuer_config)
  # A running apiserver started with another issuer or trust is restarted.
  if [[ $(cat "$DIR/issuer" 2>/dev/null) != "$ISSUER" ]] ||
    [[ $trusted != "$(cat "$AUTHN_CONFIG" 2>/dev/null)" ]]; then all_running=0; fi
  if ((all_running)) && api /readyz >/dev/null 2>&1; then
    echo "$KUBECONFIG_FILE"
    return 0
  fi
  BIN=$("$HERE/testbin.sh" | tail -n 1)
  stop_all
  # The serving certificate names the first Service IP; regenerate PKI made for another range.
  if ! openssl x509 -in "$PKI/apiserver.crt" -noout -text 2>/dev/null | grep -q "IP Address:10.96.0.1"; then
    rm -rf "$PKI"
    make_pki
  fi
  write_kubeconfig
  local trust=()
  if [[ -n $trusted ]]; then
    printf '%s\n' "$trusted" >"$AUTHN_CONFIG"
    trust=(--authentication-config="$AUTHN_CONFIG")
  else
    rm -f "$AUTHN_CONFIG"
  fi
  echo "$ISSUER" >"$DIR/issuer"
  log "starting control plane on https://127.0.0.1:$API_PORT (logs in $DIR/logs)"
  start_etcd
  start_apiserver
  allow_issuer_discovery
  start_controllers
  create_fake_node
  log "up"
  echo "$KUBECONFIG_FILE"
}

cmd_down() {
  exec 9>"$DIR/lock"
  flock 9
  stop_all
  log "down"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) api /readyz >/dev/null ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
