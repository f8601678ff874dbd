#!/usr/bin/env bash
# Runs every image once the way a cluster would (non-root as built, read-only root filesystem,
# writable /tmp and /data only, no network) and waits for its own health check to pass:
# /health for the control plane, relay and agent; an RFB banner on 5900 for the desktops;
# `pgbouncer --version` (the image has no shell for a check) plus a started pooler for PgBouncer.
# Exits non-zero naming the image that failed, with its log.
# Usage: smoke.sh [image...]   (default: all but desktop-full and desktop-browser, which build.sh
# makes by name only; images are the :dev tags build.sh made)
set -euo pipefail
# shellcheck source=podman-env.sh
source "$(dirname "$0")/podman-env.sh"
ALL=(control-plane relay agent desktop-demo desktop-xterm pgbouncer)
[ $# -gt 0 ] || set -- "${ALL[@]}"
HEALTH_TIMEOUT_S="${HEALTH_TIMEOUT_S:-90}"

containers=() dirs=() c=""
cleanup() {
  for c in "${containers[@]}"; do podman rm -f -t 2 "$c" >/dev/null 2>&1 || true; done
  for d in "${dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT
quiet() { grep -v 'systemd' || true; } # Podman's timer warnings: no systemd in CI

# Starts a container and sets $c to its id. Not called in $(…): the id must reach the
# cleanup list of this shell, not of a subshell.
run() { # podman run arguments (options, then the image and its arguments)
  local data
  data="$(mktemp -d)"
  dirs+=("$data")
  c="$(podman run -d --network none --read-only --tmpfs /tmp:rw,mode=1777 -v "$data:/data:U" \
    "$@" 2>&1 | quiet | tail -1)"
  containers+=("$c")
}

healthy() { # container image
  local c="$1" image="$2" i
  for ((i = 0; i < HEALTH_TIMEOUT_S * 2; i++)); do
    if podman healthcheck run "$c" >/dev/null 2>&1; then return 0; fi
    if [ "$(podman inspect -f '{{.State.Running}}' "$c")" != true ]; then break; fi
    sleep 0.5
  done
  echo "FAIL $image: its health check did not pass; log:" >&2
  podman logs "$c" 2>&1 | tail -30 >&2
  return 1
}

ref() { echo "$IMAGE_PREFIX/$1:dev"; }
for image in "$@"; do
  t0=$(date +%s.%N)
  case "$image" in
    control-plane)
      run -e ADMIN_PASSWORD=smoke-admin-password "$(ref "$image")"
      healthy "$c" "$image" ;;
    relay)
      run -e 'VIEWER_JWKS={"keys":[]}' "$(ref "$image")"
      healthy "$c" "$image" ;;
    agent)
      # No control plane to reach: /health answers regardless (/ready waits for the stream).
      run -e AGENT_ID=smoke -e AGENT_BOOTSTRAP_TOKEN=smoke-bootstrap \
        -e CONTROL_PLANE_URL=http://127.0.0.1:9 "$(ref "$image")"
      healthy "$c" "$image" ;;
    desktop-demo | desktop-xterm | desktop-full | desktop-browser)
      run "$(ref "$image")"
      healthy "$c" "$image" ;;
    pgbouncer)
      v="$(podman run --rm --network none --read-only "$(ref "$image")" --version 2>&1 | quiet)"
      grep -q '^PgBouncer' <<<"$v" || { echo "FAIL pgbouncer: --version said: $v" >&2; exit 1; }
      conf="$(mktemp -d)"
      dirs+=("$conf")
      printf '[databases]\n* = host=127.0.0.1\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = 6432\nunix_socket_dir =\nauth_type = trust\nauth_file = /etc/pgbouncer/userlist.txt\npool_mode = transaction\n' >"$conf/pgbouncer.ini"
      printf '"smoke" ""\n' >"$conf/userlist.txt"
      chmod 0755 "$conf" && chmod 0644 "$conf"/*
      run -v "$conf:/etc/pgbouncer:ro" "$(ref "$image")"
      for ((i = 0; i < 60; i++)); do
        podman logs "$c" 2>&1 | grep -q 'listening on 127.0.0.1:6432' && break
        [ "$(podman inspect -f '{{.State.Running}}' "$c")" = true ] || break
        sleep 0.25
      done
      if ! podman logs "$c" 2>&1 | grep -q 'listening on 127.0.0.1:6432'; then
        echo "FAIL pgbouncer: not listening; log:" >&2
        podman logs "$c" 2>&1 | tail -20 >&2
        exit 1
      fi ;;
    *) echo "unknown image $image" >&2; exit 2 ;;
  esac
  printf 'ok   %-14s %ss\n' "$image" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
done
