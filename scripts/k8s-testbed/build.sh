#!/usr/bin/env bash
# Builds the Kubernetes test bed's binaries once per version into a cache folder outside the
# repository: kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd
# and kwok, all from the Go module proxy (no cluster or release binary can be downloaded here).
# `go install` of k8s.io/kubernetes fails on its replace directives, so a small module requires
# it and pins every staging module to the matching v0 release. Prints the bin folder.
# Usage: build.sh [--print-bin]   (--print-bin only reports; it never builds)
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE="${STREAMSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamspace}"
OUT="$CACHE/k8s-testbed/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
BIN="$OUT/bin"
want=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)
missing=()
for b in "${want[@]}"; do [ -x "$BIN/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$BIN"; exit 0; fi
# --print-bin: answer where the binaries are without building (exit 3 when some are missing).
if [ "${1:-}" = "--print-bin" ]; then
  echo "missing in $BIN: ${missing[*]}; build them with: bash scripts/k8s-testbed/build.sh" >&2
  exit 3
fi
command -v go >/dev/null || { echo "Go is needed to build the Kubernetes test bed: install Go 1.24 or newer." >&2; exit 1; }
mkdir -p "$BIN" "$OUT/src"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
staging_minor="v0.${K8S_VERSION#v1.}"
log() { printf '[k8s-testbed] %s\n' "$*" >&2; }

build_kubernetes() {
  local dir="$OUT/src/kubernetes"
  mkdir -p "$dir"
  (
    cd "$dir"
    printf 'module streamspace.local/k8s-testbed\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\n' "$K8S_VERSION" >go.mod
    go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
    local kmod
    kmod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod"
    grep -E '^\s+k8s.io/[a-z0-9-]+ => \./staging' "$kmod" | awk '{print $1}' | while read -r m; do
      printf 'replace %s => %s %s\n' "$m" "$m" "$staging_minor" >>go.mod
    done
    printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n' >tools.go
    go mod tidy >/dev/null 2>&1 || true
    for c in kube-apiserver kube-controller-manager kube-scheduler; do
      [ -x "$BIN/$c" ] && continue
      log "building $c $K8S_VERSION"
      go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
      mv "$BIN/$c.tmp" "$BIN/$c"
    done
  )
}

build_etcd() {
  [ -x "$BIN/etcd" ] && return
  local dir="$OUT/src/etcd"
  mkdir -p "$dir"
  (
    cd "$dir"
    printf 'module streamspace.local/etcd-build\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >go.mod
    printf 'package tools\n\nimport _ "go.etcd.io/etcd/server/v3/etcdmain"\n' >tools.go
    go mod tidy >/dev/null 2>&1 || true
    log "building etcd $ETCD_VERSION"
    mkdir -p cmd/etcd
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >cmd/etcd/main.go
    go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" ./cmd/etcd
    mv "$BIN/etcd.tmp" "$BIN/etcd"
  )
}

build_kwok() {
  [ -x "$BIN/kwok" ] && return
  log "building kwok $KWOK_VERSION"
  GOBIN="$OUT/src/kwok-bin" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$OUT/src/kwok-bin/kwok" "$BIN/kwok"
}

build_kubernetes
build_etcd
build_kwok
echo "$BIN"
