#!/usr/bin/env bash
# Installs the Debian packages the tests and the local system use, when missing. Idempotent.
#   install-system-deps.sh            everything `npm test` needs (missing packages are an error)
#   install-system-deps.sh --start    what `npm start` needs: the X desktop stack (Xvfb, x11vnc,
#                                     xterm, and for the desktop and browser templates openbox,
#                                     tint2, pcmanfm, chromium); without it desktops fall back to
#                                     the built-in one, so a missing package is reported, not an error
# As root on Debian it runs apt-get; otherwise it prints the one command to run.
set -euo pipefail
mode=test
[ "${1:-}" = "--start" ] && mode=start
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have Xvfb || need+=(xvfb)
have x11vnc || need+=(x11vnc)
have xterm || need+=(xterm)
# TigerVNC's X server: X desktops follow the viewer's window size (x11vnc cannot resize).
have Xtigervnc || need+=(tigervnc-standalone-server)
# The desktop templates: window manager, panel, file manager (small Debian packages), the
# browser template's Chromium, and xsetroot for the desktop's background.
have openbox || need+=(openbox)
have tint2 || need+=(tint2)
have pcmanfm || need+=(pcmanfm)
have xsetroot || need+=(x11-xserver-utils)
have chromium || need+=(chromium)
if [ "$mode" = test ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb || need+=(postgresql)
  have redis-server || need+=(redis-server)
  have haproxy || need+=(haproxy)
  # The clipboard test reads and writes the X selection with xclip.
  have xclip || need+=(xclip)
  have websockify || need+=(websockify)
  [ -x /usr/sbin/pgbouncer ] || have pgbouncer || need+=(pgbouncer)
  # The Docker driver's tests run on Podman's Docker-compatible API (scripts/podman-engine.ts);
  # runc because crun refuses hybrid cgroup v1 hosts.
  have podman || need+=(podman)
  have runc || need+=(runc)
fi
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages present"
  exit 0
fi
missing() {
  echo "missing system packages: ${need[*]}" >&2
  echo "  run: $1" >&2
  if [ "$mode" = start ]; then
    echo "  (until then desktops use the built-in demo server)" >&2
    exit 0
  fi
  exit 1
}
if ! have apt-get; then
  missing "your package manager's install command for: ${need[*]} (Debian/Ubuntu names)"
fi
if [ "$(id -u)" != 0 ]; then
  missing "sudo apt-get install -y ${need[*]}"
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing system packages: ${need[*]}"
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
