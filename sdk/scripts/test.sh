#!/usr/bin/env bash
# Runs the SDK tests that live outside `npm test` (which covers the TypeScript SDK): the Go SDK
# (go test), the Python SDK (pytest) and the operator recipes with the real grpcurl binary, each
# against a live control plane its test starts. Installs the pinned Go tools and the Python
# environment into a cache outside the repository on first use (see tools.sh).
#
#   bash sdk/scripts/test.sh [go] [python] [grpcurl]     # default: all three
set -euo pipefail
source "$(dirname "$0")/tools.sh"
cd "$REPO_ROOT"
export PATH="$REPO_ROOT/node_modules/.bin:$PATH"
if [ ! -d node_modules/tsx ]; then
  sdk_log "node_modules is missing: run npm ci at the repository root first"
  exit 1
fi

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(go python grpcurl)
timed() {
  local name="$1" t0=$SECONDS
  shift
  "$@"
  sdk_log "$name passed in $((SECONDS - t0)) s"
}

for part in "${want[@]}"; do
  case "$part" in
    go)
      sdk_need go "install Go 1.24 or newer and retry"
      timed "go test" bash -c 'cd sdk/go && go vet ./... && go test -count=1 ./...'
      ;;
    python)
      sdk_python_venv
      timed "pytest" bash -c "cd sdk/python && '$SDK_VENV/bin/python' -m pytest -q"
      ;;
    grpcurl)
      sdk_go_tools
      if ! command -v jq >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null
        else
          sdk_log "jq is not installed (the recipes use it): run sudo apt-get install -y jq"
          exit 1
        fi
      fi
      timed "grpcurl recipes" node --import tsx scripts/test.ts sdk/grpcurl
      ;;
    *)
      sdk_log "unknown part \"$part\": use go, python or grpcurl"
      exit 2
      ;;
  esac
done
