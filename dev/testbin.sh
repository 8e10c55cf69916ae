#!/usr/bin/env bash
# dev/testbin.sh -- build the pinned test tools from Go modules and cache them.
#
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok, kustomize,
# distribution's registry, helm, sops, age, age-keygen, versitygw (an S3 server), the flux CLI,
# fluxctl, fluxd, kubectl and nats-server at pinned versions into $TETHER_TESTBIN (default
# ~/.cache/tether/testbin/<versions>/). A binary that is already there is not rebuilt, so a
# warm run takes seconds. Prints the directory last.
#
# Needs Go >= 1.26 and the Go module proxy; nothing is downloaded except Go modules.
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.14
KWOK_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.8.1
# Not part of KEY (changing KEY rebuilds Kubernetes): registry.version next to the binary
# records the version it was built from, and a different pin rebuilds only the registry.
REGISTRY_VERSION=v3.1.2
# Likewise helm (helm.version): the differential suite of the helm crate runs `helm template`.
HELM_VERSION=v4.3.2
# Likewise sops (sops.version) and age + age-keygen (age.version): the differential suite of the
# sops crate encrypts its fixtures with them at test time.
SOPS_VERSION=v3.13.3
AGE_VERSION=v1.3.2
# Likewise versitygw (versitygw.version): the S3 server (posix backend) that Bucket sources are
# tested against. Apache-2.0. Its build costs ~145 s of CPU (user+sys) with empty Go caches,
# ~100 s after the other tools (the binary is the same, byte for byte).
VERSITYGW_VERSION=v1.8.0
# Likewise the flux CLI (flux.version): the drop-in suite runs the real `flux` against a cluster
# that tether manages. Its build costs ~322 s of CPU (258 user + 64 sys) with an empty GOCACHE and
# only the flux2 module itself downloaded beforehand (wall 854 s on a 2-core machine under a load
# of ~14; about 3 min on an idle one); the binary is 77 MB.
FLUX_VERSION=v2.9.5
# Likewise fluxctl (fluxctl.version): the Flux v1 client that drives `tether fluxd` in the e2e
# tests. Only cmd/fluxctl is built. Cold cost (empty GOCACHE and GOMODCACHE, 2 cores):
# ~132 s of CPU (107 user + 25 sys), 7.4 min wall on a shared machine (load ~12), ~500 MB of
# modules downloaded; the binary is 38 MB.
FLUXCTL_VERSION=v1.25.4
# Likewise fluxd (fluxd.version), from the same module and wrapper as fluxctl: the e2e test that
# `tether fluxd` takes over a cluster a real fluxd synced. Only cmd/fluxd is built. Cold cost
# (empty GOCACHE; the module cache held fluxctl's modules, fluxd downloaded a few more): ~215 s of
# CPU (177 user + 38 sys), 16.3 min wall on a shared machine (load ~11); the binary is 50 MB.
FLUXD_VERSION=$FLUXCTL_VERSION
# github.com/fluxcd/flux/pkg/install is a nested module that flux replaces with ./pkg/install; the
# module proxy serves no version of it cut from v1.25.x, so the last one it serves (flux 1.21.0)
# is used. Only `fluxctl install` reads it, and the tests do not run that verb.
FLUX_INSTALL_VERSION=v0.0.0-20201001122558-cb08da1b356a
# Likewise nats-server (nats-server.version): the server the `nats` Provider publishes to in the
# e2e tests. Apache-2.0. Cold cost (empty GOCACHE, 2 cores, shared machine at load ~3): ~58 s of
# CPU (50.5 user + 7.0 sys), 1.5 min wall; the binary is ~17 MB.
NATS_SERVER_VERSION=v2.15.3
# kubectl (same K8S_VERSION and wrapper module as the server binaries, so no version file): fluxd
# shells out to it, and the takeover e2e test runs the real fluxd. Cold cost (empty GOCACHE, the
# module cache holding the control plane's modules): ~246 s of CPU (204 user + 42 sys), 21.4 min
# wall on a shared machine (load ~15); ~8 min wall after the server binaries (warm GOCACHE); the
# binary is 60 MB.
KEY="k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-kustomize-$KUSTOMIZE_VERSION"
BIN=${TETHER_TESTBIN:-$HOME/.cache/tether/testbin/$KEY}
export GOTOOLCHAIN=local GOFLAGS=-modcacherw CGO_ENABLED=0
mkdir -p "$BIN"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
log() { echo "testbin: $*" >&2; }

# The Kubernetes binaries given as commands (cmd/<name>): k8s.io/kubernetes is consumed as a
# module, which only builds when every staging module it replaces locally is pinned to its
# published version.
build_kubernetes() {
  local staging="v0.${K8S_VERSION#v1.}" minor gomod goline godebug flags pkg cmd packages=()
  for cmd in "$@"; do packages+=("k8s.io/kubernetes/cmd/$cmd"); done
  minor=$(cut -d. -f2 <<<"$K8S_VERSION")
  mkdir -p "$WORK/k8s" && cd "$WORK/k8s"
  go mod init tether.local/k8s-testbin >/dev/null 2>&1
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .GoMod)
  goline=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")
  godebug=$(sed -n 's/^godebug \(default=.*\)$/\1/p' "$gomod")
  go mod edit -go="$goline" -require="k8s.io/kubernetes@$K8S_VERSION"
  if [[ -n $godebug ]]; then go mod edit -godebug="$godebug"; fi
  sed -n 's|^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/.*|\1|p' "$gomod" |
    while read -r module; do go mod edit -replace="$module=$module@$staging"; done
  go get "${packages[@]/%/@$K8S_VERSION}"
  flags="-s -w"
  # Without a stamped version /version reports v0.0.0 and clients' version checks misbehave.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  go build -trimpath -ldflags "$flags" -o "$BIN/" "${packages[@]}"
}

# etcd's server module carries replace directives, so it is built from a wrapper module.
build_etcd() {
  mkdir -p "$WORK/etcd" && cd "$WORK/etcd"
  go mod init tether.local/etcd-testbin >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
}

# The flux CLI: its module carries a replace directive and embeds cmd/flux/manifests/*.yaml,
# which its release build generates from remote kustomizations and the module zip leaves out. So
# it is built inside a copy of the module with a one-document stand-in there: every verb that
# reads a cluster works; `flux install` and `flux bootstrap` (which apply those manifests) do not.
build_flux() {
  local dir
  dir=$(go mod download -json "github.com/fluxcd/flux2/v2@$FLUX_VERSION" | jq -r .Dir)
  cp -r "$dir" "$WORK/flux2" && chmod -R u+w "$WORK/flux2" && cd "$WORK/flux2"
  mkdir -p cmd/flux/manifests
  echo '# left out of this build: flux install/bootstrap are not used by the tests' \
    >cmd/flux/manifests/placeholder.yaml
  go build -trimpath -ldflags "-s -w -X main.VERSION=${FLUX_VERSION#v}" -o "$BIN/flux" ./cmd/flux
}

# kwok loads no stages by default; its "fast" stages ship inside the module.
assemble_kwok_stages() {
  local dir stage
  dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | jq -r .Dir)/kustomize/stage
  for stage in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$dir/$stage"
    echo '---'
  done >"$BIN/kwok-stages.yaml.tmp"
  mv "$BIN/kwok-stages.yaml.tmp" "$BIN/kwok-stages.yaml"
}

# flux's go.mod carries replace directives (Kubernetes 1.21 pins and others) that only apply
# when it is the main module, so fluxctl and fluxd (the command given) are built from a wrapper
# module that copies them.
build_flux_v1() {
  local cmd=$1 gomod
  mkdir -p "$WORK/$cmd" && cd "$WORK/$cmd"
  go mod init "tether.local/$cmd-testbin" >/dev/null 2>&1
  gomod=$(go mod download -json "github.com/fluxcd/flux@$FLUXCTL_VERSION" | jq -r .GoMod)
  # Every `old => new version` line, inside a replace block or on its own; local paths are skipped.
  sed -n 's/^\(replace[[:space:]]\+\)\?[[:space:]]*\([^[:space:]()]\+\)[[:space:]]\+=>[[:space:]]\+\([^.[:space:]][^[:space:]]*\)[[:space:]]\+\(v[^[:space:]]\+\)$/\2=\3@\4/p' "$gomod" |
    while read -r replacement; do go mod edit -replace="$replacement"; done
  go mod edit -replace="github.com/fluxcd/flux/pkg/install=github.com/fluxcd/flux/pkg/install@$FLUX_INSTALL_VERSION"
  go get "github.com/fluxcd/flux/cmd/$cmd@$FLUXCTL_VERSION"
  go build -trimpath -ldflags "-s -w -X main.version=${FLUXCTL_VERSION#v}" -o "$BIN/$cmd" \
    "github.com/fluxcd/flux/cmd/$cmd"
}

if [[ ! -x $BIN/kube-apiserver || ! -x $BIN/kube-controller-manager || ! -x $BIN/kube-scheduler ]]; then
  log "building Kubernetes $K8S_VERSION server binaries (cold: ~10-15 min on 2 cores)"
  (build_kubernetes kube-apiserver kube-controller-manager kube-scheduler)
fi
if [[ ! -x $BIN/kubectl ]]; then
  log "building kubectl $K8S_VERSION"
  (build_kubernetes kubectl)
fi
if [[ ! -x $BIN/etcd ]]; then
  log "building etcd $ETCD_VERSION"
  (build_etcd)
fi
if [[ ! -x $BIN/kwok ]]; then
  log "building kwok $KWOK_VERSION"
  GOBIN=$BIN go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
if [[ ! -s $BIN/kwok-stages.yaml ]]; then assemble_kwok_stages; fi
if [[ ! -x $BIN/kustomize ]]; then
  log "building kustomize $KUSTOMIZE_VERSION"
  GOBIN=$BIN go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi
if [[ ! -x $BIN/registry || $(cat "$BIN/registry.version" 2>/dev/null) != "$REGISTRY_VERSION" ]]; then
  log "building distribution registry $REGISTRY_VERSION"
  GOBIN=$WORK/registry go install -trimpath -ldflags "-s -w" \
    "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
  mv "$WORK/registry/registry" "$BIN/registry"
  echo "$REGISTRY_VERSION" >"$BIN/registry.version"
fi
if [[ ! -x $BIN/helm || $(cat "$BIN/helm.version" 2>/dev/null) != "$HELM_VERSION" ]]; then
  log "building helm $HELM_VERSION"
  # Unstamped, `helm version` says v4.3 and .Capabilities.HelmVersion differs from a release.
  GOBIN=$WORK/helm go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  mv "$WORK/helm/helm" "$BIN/helm"
  echo "$HELM_VERSION" >"$BIN/helm.version"
fi
if [[ ! -x $BIN/sops || $(cat "$BIN/sops.version" 2>/dev/null) != "$SOPS_VERSION" ]]; then
  log "building sops $SOPS_VERSION"
  GOBIN=$WORK/sops go install -trimpath \
    -ldflags "-s -w -X github.com/getsops/sops/v3/version.Version=${SOPS_VERSION#v}" \
    "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION"
  mv "$WORK/sops/sops" "$BIN/sops"
  echo "$SOPS_VERSION" >"$BIN/sops.version"
fi
if [[ ! -x $BIN/age || ! -x $BIN/age-keygen || $(cat "$BIN/age.version" 2>/dev/null) != "$AGE_VERSION" ]]; then
  log "building age $AGE_VERSION"
  GOBIN=$WORK/age go install -trimpath -ldflags "-s -w -X main.Version=$AGE_VERSION" \
    "filippo.io/age/cmd/age@$AGE_VERSION" "filippo.io/age/cmd/age-keygen@$AGE_VERSION"
  mv "$WORK/age/age" "$WORK/age/age-keygen" "$BIN/"
  echo "$AGE_VERSION" >"$BIN/age.version"
fi
if [[ ! -x $BIN/versitygw || $(cat "$BIN/versitygw.version" 2>/dev/null) != "$VERSITYGW_VERSION" ]]; then
  log "building versitygw $VERSITYGW_VERSION"
  GOBIN=$WORK/versitygw go install -trimpath -ldflags "-s -w" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  mv "$WORK/versitygw/versitygw" "$BIN/versitygw"
  echo "$VERSITYGW_VERSION" >"$BIN/versitygw.version"
fi
if [[ ! -x $BIN/flux || $(cat "$BIN/flux.version" 2>/dev/null) != "$FLUX_VERSION" ]]; then
  log "building flux $FLUX_VERSION"
  (build_flux)
  echo "$FLUX_VERSION" >"$BIN/flux.version"
fi
if [[ ! -x $BIN/fluxctl || $(cat "$BIN/fluxctl.version" 2>/dev/null) != "$FLUXCTL_VERSION" ]]; then
  log "building fluxctl $FLUXCTL_VERSION"
  (build_flux_v1 fluxctl)
  echo "$FLUXCTL_VERSION" >"$BIN/fluxctl.version"
fi
if [[ ! -x $BIN/fluxd || $(cat "$BIN/fluxd.version" 2>/dev/null) != "$FLUXD_VERSION" ]]; then
  log "building fluxd $FLUXD_VERSION"
  (build_flux_v1 fluxd)
  echo "$FLUXD_VERSION" >"$BIN/fluxd.version"
fi
if [[ ! -x $BIN/nats-server || $(cat "$BIN/nats-server.version" 2>/dev/null) != "$NATS_SERVER_VERSION" ]]; then
  log "building nats-server $NATS_SERVER_VERSION"
  GOBIN=$WORK/nats go install -trimpath -ldflags "-s -w" \
    "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
  mv "$WORK/nats/nats-server" "$BIN/nats-server"
  echo "$NATS_SERVER_VERSION" >"$BIN/nats-server.version"
fi
echo "$BIN"
