#!/usr/bin/env bash
# Builds every StreamSpace image with Podman on the locally made Debian base (no registry is
# reachable): control-plane, relay, agent, desktop-demo, desktop-xterm, pgbouncer.
#
# Each image is tagged with a hash of its inputs (sources, lockfile, Containerfile, base, node
# binary): an image whose hash is already in Podman's storage is not rebuilt, so CI pays only
# for what changed, and `npm run build` runs only when a Node image needs rebuilding. Podman's
# storage and the base tarball live outside the repository (/var/lib/containers,
# ~/.cache/streamspace/images). Every image is also tagged :dev (the latest build).
#
# Usage: build.sh [--cold] [--no-npm-build] [image...]
#   --cold          remove the images (and Podman's layer cache for them) first, to measure
#   --no-npm-build  use the bundles as they are (the caller ran `npm run build`)
# Prints one line per image (name, tag, size, seconds, built or cached) and writes the same as
# JSON to ~/.cache/streamspace/images/last-build.json.
set -euo pipefail
# shellcheck source=podman-env.sh
source "$(dirname "$0")/podman-env.sh"
cd "$REPO_ROOT"

ALL=(control-plane relay agent desktop-demo desktop-xterm pgbouncer)
# Built by name only (larger: GTK, Chromium), so CI's default build stays small.
EXTRA=(desktop-full desktop-browser)
cold=0 npm_build=1 want=()
for a in "$@"; do
  case "$a" in
    --cold) cold=1 ;;
    --no-npm-build) npm_build=0 ;;
    -*) echo "unknown flag $a" >&2; exit 2 ;;
    *) want+=("$a") ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=("${ALL[@]}")
VERSION="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' deploy/helm/streamspace/Chart.yaml 2>/dev/null || true)"
VERSION="${VERSION:-0.1.0}"
REVISION="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
log() { printf '[images] %s\n' "$*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Content hash of files (tracked and untracked-but-not-ignored) under the given paths, plus
# any extra words (image references the build starts from).
hash_inputs() {
  local paths=() extra=()
  for a in "$@"; do if [ -e "$a" ]; then paths+=("$a"); else extra+=("$a"); fi; done
  {
    git ls-files -co --exclude-standard -- "${paths[@]}" | LC_ALL=C sort | xargs -r sha256sum
    printf '%s\n' "${extra[@]}"
  } | sha256sum | cut -c1-16
}

APP_SOURCES=(package.json package-lock.json tsconfig.json tsconfig.base.json scripts/bundle.ts common proto)
inputs_of() { # image → its input paths
  local own=(deploy/images/podman-env.sh deploy/images/build.sh "deploy/images/$1.Containerfile")
  case "$1" in
    control-plane) echo "${own[*]} ${APP_SOURCES[*]} control-plane web deploy/images/stage-app.ts" ;;
    relay) echo "${own[*]} ${APP_SOURCES[*]} dataplane deploy/images/stage-app.ts" ;;
    agent) echo "${own[*]} ${APP_SOURCES[*]} agents deploy/images/stage-app.ts" ;;
    desktop-demo) echo "${own[*]} ${APP_SOURCES[*]} agents deploy/images/stage-app.ts deploy/images/desktop-demo" ;;
    desktop-xterm) echo "${own[*]} deploy/images/desktop-xterm" ;;
    desktop-full | desktop-browser) echo "${own[*]} deploy/images/desktop-session agents/src/drivers/local/sessions" ;;
    pgbouncer) echo "${own[*]}" ;;
    *) echo "unknown image $1 (one of: ${ALL[*]} ${EXTRA[*]})" >&2; exit 2 ;;
  esac
}
needs_runtime() { case "$1" in control-plane | relay | agent | desktop-demo) return 0 ;; esac; return 1; }

if [ "$cold" = 1 ]; then
  log "cold build: removing StreamSpace images and unused layers"
  for img in "${want[@]}" node-runtime; do
    podman images --format '{{.Repository}}:{{.Tag}}' | grep "^$IMAGE_PREFIX/$img:" |
      xargs -r podman rmi -f >/dev/null 2>&1 || true
  done
  podman image prune -f >/dev/null 2>&1 || true
fi

t_all=$(now)
results=()
record() { results+=("$1	$2	$3	$4	$5"); }
t=$(now)
base_built=cached
bash deploy/images/base/make-base.sh --print-ref >/dev/null 2>&1 || base_built=built
BASE="$(bash deploy/images/base/make-base.sh)"
record debian-base "${BASE##*:}" "$(podman image inspect -f '{{.Size}}' "$BASE")" "$(secs "$t" "$(now)")" "$base_built"

# The shared Node runtime: the machine's node, stripped (debug info is ~13 MiB of it).
node_bin="$(command -v node)"
runtime_key="$(hash_inputs deploy/images/node-runtime.Containerfile deploy/images/healthcheck.mjs "$BASE" "$(sha256sum "$node_bin")")"
RUNTIME="$IMAGE_PREFIX/node-runtime:$runtime_key"
ctx_root="$IMAGE_CACHE/context"
mkdir -p "$ctx_root"
build_image() { # name ref context [extra podman args]
  local name="$1" ref="$2" ctx="$3"
  shift 3
  local cache=()
  [ "$cold" = 1 ] && cache=(--no-cache)
  podman build --format docker --layers "${cache[@]}" --quiet -f "$ctx/$name.Containerfile" \
    --build-arg "BASE=$BASE" --build-arg "NODE_RUNTIME=$RUNTIME" \
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
    -t "$ref" -t "$IMAGE_PREFIX/$name:dev" "$@" "$ctx" >/dev/null
}
fresh_context() { # name → a context dir holding deploy/images' own files
  local ctx="$ctx_root/$1"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r deploy/images/. "$ctx/"
  echo "$ctx"
}

if ! podman image exists "$RUNTIME"; then
  t=$(now)
  ctx="$(fresh_context node-runtime)"
  cp "$node_bin" "$ctx/node" && strip "$ctx/node"
  build_image node-runtime "$RUNTIME" "$ctx"
  record node-runtime "$runtime_key" "$(podman image inspect -f '{{.Size}}' "$RUNTIME")" "$(secs "$t" "$(now)")" built
fi

npm_built=0
for name in "${want[@]}"; do
  read -r -a paths <<<"$(inputs_of "$name")"
  extra=("$BASE")
  needs_runtime "$name" && extra+=("$RUNTIME")
  key="$(hash_inputs "${paths[@]}" "${extra[@]}")"
  ref="$IMAGE_PREFIX/$name:$key"
  if podman image exists "$ref"; then
    podman tag "$ref" "$IMAGE_PREFIX/$name:dev"
    record "$name" "$key" "$(podman image inspect -f '{{.Size}}' "$ref")" 0 cached
    continue
  fi
  t=$(now)
  ctx="$(fresh_context "$name")"
  if needs_runtime "$name"; then
    if [ "$npm_build" = 1 ] && [ "$npm_built" = 0 ]; then
      log "npm run build (the bundles the Node images carry)"
      npm run build >"$IMAGE_CACHE/npm-build.log" 2>&1 || { tail -30 "$IMAGE_CACHE/npm-build.log" >&2; exit 1; }
      npm_built=1
    fi
    node --import tsx deploy/images/stage-app.ts "$name" "$ctx"
  fi
  # The session programs are the local driver's own, copied in unchanged.
  case "$name" in desktop-full | desktop-browser) cp -r agents/src/drivers/local/sessions "$ctx/sessions" ;; esac
  log "building $name ($ref)"
  build_image "$name" "$ref" "$ctx"
  record "$name" "$key" "$(podman image inspect -f '{{.Size}}' "$ref")" "$(secs "$t" "$(now)")" built
  # Earlier builds of this image (other input hashes) only take space now.
  podman images --format '{{.Repository}}:{{.Tag}}' | grep -E "^$IMAGE_PREFIX/$name:[0-9a-f]{16}$" |
    grep -v ":$key$" | xargs -r podman rmi >/dev/null 2>&1 || true
done
podman image prune -f >/dev/null 2>&1 || true

total="$(secs "$t_all" "$(now)")"
{
  printf '{"total_seconds": %s, "images": [' "$total"
  sep=""
  for r in "${results[@]}"; do
    IFS=$'\t' read -r n k s d how <<<"$r"
    printf '%s{"name":"%s","tag":"%s","bytes":%s,"seconds":%s,"%s":true}' "$sep" "$n" "$k" "$s" "$d" "$how"
    sep=","
  done
  printf ']}\n'
} >"$IMAGE_CACHE/last-build.json"
printf '%-14s %-17s %9s %8s  %s\n' image tag MB seconds how
for r in "${results[@]}"; do
  IFS=$'\t' read -r n k s d how <<<"$r"
  printf '%-14s %-17s %9.1f %8s  %s\n' "$n" "$k" "$(awk -v b="$s" 'BEGIN { print b / 1000000 }')" "$d" "$how"
done
printf 'total %ss\n' "$total"
