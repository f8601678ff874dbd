#!/usr/bin/env bash
# Installs the Debian packages tests and the local deployment use, when missing. Idempotent.
# As root it runs apt-get; otherwise it prints the one command to run.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb || need+=(postgresql)
have redis-server || need+=(redis-server)
have Xvfb || need+=(xvfb)
have x11vnc || need+=(x11vnc)
have xterm || need+=(xterm)
have haproxy || need+=(haproxy)
have chromium || need+=(chromium)
have websockify || need+=(websockify)
[ -x /usr/sbin/pgbouncer ] || have pgbouncer || need+=(pgbouncer)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages; run: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
