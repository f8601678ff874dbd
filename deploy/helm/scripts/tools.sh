#!/usr/bin/env bash
# Builds the chart's check tools once per version into a cache folder outside the repository and
# prints the bin folder: helm and kubeconform from the Go module proxy (no release binary can be
# downloaded here), promtool taken out of Debian's `prometheus` package without installing it (so
# no daemon is started or enabled). kubectl comes from the machine image. Beside bin/ it keeps
# what the checks validate against offline:
#   schemas/kubernetes/<version>-local-strict/  Kubernetes JSON schemas from the PyPI wheel
#     kubernetes-validate, their "$ref": "/api/_definitions.json#…" rewritten to this folder's
#     absolute path (kubeconform resolves refs as given and would otherwise fetch them);
#   crds/  the prometheus-operator CRDs (ServiceMonitor, PrometheusRule) as published in its
#     Go module, for the test bed and for kubeconform.
# Usage: tools.sh [--print-bin]   (--print-bin only reports; exit 3 when something is missing)
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
KUBERNETES_VALIDATE_VERSION="${KUBERNETES_VALIDATE_VERSION:-1.37.0}"
SCHEMA_K8S_VERSION="${SCHEMA_K8S_VERSION:-v1.34.0}"
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
CACHE="${STREAMSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamspace}"
OUT="$CACHE/helm-tools"
BIN="$OUT/bin"
# Each tool sits in a folder named by its version; bin/ links the versions this script pins.
helm_dir="$OUT/helm-$HELM_VERSION"
kubeconform_dir="$OUT/kubeconform-$KUBECONFORM_VERSION"
promtool_dir="$OUT/promtool-debian"
schema_dir="$OUT/schemas/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION/$SCHEMA_K8S_VERSION-local-strict"
crd_dir="$OUT/crds/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
log() { printf '[helm-tools] %s\n' "$*" >&2; }

missing=()
[ -x "$helm_dir/helm" ] || missing+=(helm)
[ -x "$kubeconform_dir/kubeconform" ] || missing+=(kubeconform)
[ -x "$promtool_dir/promtool" ] || missing+=(promtool)
[ -s "$schema_dir/deployment-apps-v1.json" ] || missing+=(schemas)
[ -s "$crd_dir/monitoring.coreos.com_servicemonitors.yaml" ] || missing+=(crds)

link_all() {
  mkdir -p "$BIN"
  ln -sfn "$helm_dir/helm" "$BIN/helm"
  ln -sfn "$kubeconform_dir/kubeconform" "$BIN/kubeconform"
  ln -sfn "$promtool_dir/promtool" "$BIN/promtool"
  ln -sfn "$schema_dir" "$OUT/schemas/kubernetes"
  ln -sfn "$crd_dir" "$OUT/crds/current"
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
if [ ! -s "$schema_dir/deployment-apps-v1.json" ]; then
  log "kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI: $SCHEMA_K8S_VERSION schemas"
  wheel_dir="$OUT/schemas/wheel-$KUBERNETES_VALIDATE_VERSION"
  mkdir -p "$wheel_dir"
  ls "$wheel_dir"/*.whl >/dev/null 2>&1 ||
    python3 -m pip download -q --no-deps -d "$wheel_dir" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  python3 - "$(ls "$wheel_dir"/*.whl | head -1)" "$SCHEMA_K8S_VERSION-local-strict" "$schema_dir" <<'PY'
import json, os, sys, zipfile
wheel, version, out = sys.argv[1:]
prefix = f"kubernetes_validate/kubernetes-json-schema/{version}/"
tmp = out + ".tmp"
os.makedirs(tmp, exist_ok=True)
base = "file://" + os.path.abspath(out) + "/_definitions.json"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
    if not names:
        sys.exit(f"{version} is not in {wheel}")
    for n in names:
        text = z.read(n).decode()
        text = text.replace('"/api/_definitions.json#', '"' + base + "#")
        with open(os.path.join(tmp, os.path.basename(n)), "w") as f:
            f.write(text)
os.rename(tmp, out)
PY
fi

if [ ! -s "$crd_dir/monitoring.coreos.com_servicemonitors.yaml" ]; then
  log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION CRDs from its Go module"
  mod_dir="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json \
    "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  mkdir -p "$crd_dir"
  cp "$mod_dir"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml "$crd_dir/"
  chmod 0644 "$crd_dir"/*.yaml
fi
link_all
echo "$BIN"
