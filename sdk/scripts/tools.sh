# Sourced by the SDK scripts: installs the pinned Go tools and the Python virtual environment the
# SDKs need, once, into a cache outside the repository, and puts them on PATH. A fresh clone on
# a machine with Go and Python builds them on first use (cold) and finds them after (warm).
#
#   STREAMSPACE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/streamspace)
#
# Versions are pinned here and nowhere else; bump one and the next run installs it beside the
# old one (each version has its own stamp, so a stale binary is never used).

SDK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$SDK_ROOT/.." && pwd)"
SDK_CACHE="${STREAMSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamspace}"

# Module path and version of each Go tool; the binary is the last path element.
GO_TOOLS=(
  "google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12"
  "connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1"
  "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4"
)
# Only the benchmarks need ghz; it is installed on demand by sdk_go_tool.
GHZ_TOOL="github.com/bojand/ghz/cmd/ghz@v0.120.0"

sdk_log() { printf 'sdk: %s\n' "$*" >&2; }

sdk_need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    sdk_log "$1 is not installed: $2"
    return 1
  fi
}

# Installs one pinned Go tool into $SDK_CACHE/go/bin unless that exact version is there.
sdk_go_tool() {
  local spec="$1" name version
  name="$(basename "${spec%@*}")"
  version="${spec##*@}"
  local bin="$SDK_CACHE/go/bin" stamp="$SDK_CACHE/go/bin/.$name@$version"
  if [ -x "$bin/$name" ] && [ -f "$stamp" ]; then return 0; fi
  sdk_need go "install Go 1.24 or newer (https://go.dev/doc/install) and retry" || return 1
  sdk_log "installing $spec (first run only)"
  mkdir -p "$bin"
  rm -f "$bin/.$name@"*
  GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "$spec" || return 1
  touch "$stamp"
}

sdk_go_tools() {
  local spec
  for spec in "${GO_TOOLS[@]}"; do sdk_go_tool "$spec" || return 1; done
  export PATH="$SDK_CACHE/go/bin:$PATH"
}

# A virtual environment keyed by the Python version and the pinned requirements, so a change of
# either builds a new one instead of mutating the old.
sdk_python_venv() {
  sdk_need python3 "install Python 3.10 or newer (apt-get install -y python3 python3-venv)" || return 1
  local req="$SDK_ROOT/python/requirements-dev.txt" key
  key="$( (python3 -c 'import sys; print(sys.version)'; cat "$req") | sha256sum | cut -c1-12)"
  SDK_VENV="$SDK_CACHE/python/venv-$key"
  if [ ! -f "$SDK_VENV/.complete" ]; then
    sdk_log "creating the Python environment $SDK_VENV (first run only)"
    rm -rf "$SDK_VENV"
    python3 -m venv "$SDK_VENV" || return 1
    "$SDK_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req" || return 1
    touch "$SDK_VENV/.complete"
  fi
  export SDK_VENV
}
