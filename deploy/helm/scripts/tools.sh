#!/usr/bin/env bash
# Builds the chart's check tools once per version into a cache folder outside the repository and
# prints the bin folder: helm and kubeconform from the Go module proxy (no release binary can be
# downloaded here), promtool taken out of Debian's `prometheus` package without installing it (so
# no daemon is started or enabled). kubectl comes from the machine image.
# Usage: tools.sh [--print-bin]   (--print-bin only reports; exit 3 when something is missing)
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
CACHE="${STREAMSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamspace}"
OUT="$CACHE/helm-tools"
BIN="$OUT/bin"
# Each tool sits in a folder named by its version; bin/ links the versions this script pins.
helm_dir="$OUT/helm-$HELM_VERSION"
kubeconform_dir="$OUT/kubeconform-$KUBECONFORM_VERSION"
promtool_dir="$OUT/promtool-debian"
log() { printf '[helm-tools] %s\n' "$*" >&2; }

missing=()
[ -x "$helm_dir/helm" ] || missing+=(helm)
[ -x "$kubeconform_dir/kubeconform" ] || missing+=(kubeconform)
[ -x "$promtool_dir/promtool" ] || missing+=(promtool)

link_all() {
  mkdir -p "$BIN"
  ln -sfn "$helm_dir/helm" "$BIN/helm"
  ln -sfn "$kubeconform_dir/kubeconform" "$BIN/kubeconform"
  ln -sfn "$promtool_dir/promtool" "$BIN/promtool"
}

if [ ${#missing[@]} -eq 0 ]; then link_all; echo "$BIN"; exit 0; fi
if [ "${1:-}" = "--print-bin" ]; then
  echo "missing in $OUT: ${missing[*]}; build them with: bash deploy/helm/scripts/tools.sh" >&2
  exit 3
fi

go_install() { # name module version dir
  command -v go >/dev/null || { echo "Go 1.24 or newer is needed to build $1." >&2; exit 1; }
  log "building $1 $3 (go install; minutes when cold)"
  mkdir -p "$4"
  GOBIN="$4.tmp" CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
    go install -trimpath -ldflags "-s -w" "$2@$3"
  mv "$4.tmp/$1" "$4/$1"
  rmdir "$4.tmp"
}

[ -x "$helm_dir/helm" ] || go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "$helm_dir"
[ -x "$kubeconform_dir/kubeconform" ] ||
  go_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" "$kubeconform_dir"

if [ ! -x "$promtool_dir/promtool" ]; then
  log "extracting promtool from Debian's prometheus package"
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) || {
    [ "$(id -u)" = 0 ] && apt-get update -qq && (cd "$tmp" && apt-get download prometheus >/dev/null)
  }
  deb="$(ls "$tmp"/prometheus_*.deb)"
  dpkg-deb -x "$deb" "$tmp/x"
  mkdir -p "$promtool_dir"
  cp "$tmp/x/usr/bin/promtool" "$promtool_dir/promtool"
  basename "$deb" >"$promtool_dir/SOURCE"
  rm -rf "$tmp"
fi
link_all
echo "$BIN"
