#!/bin/sh
# One desktop per container for the full-desktop and browser images: Xvfb on :0, x11vnc serving
# it on $VNC_PORT (5900) with the desktop named $SS_TITLE and the clipboard shared both ways,
# an optional window manager ($SS_WINDOW_MANAGER), then the session program ("$@",
# streamspace-desktop or streamspace-browser, the same programs the local driver runs) in the
# foreground: when it ends the container ends. tini (PID 1) reaps and forwards signals.
# Environment: SS_GEOMETRY (1280x800), VNC_PORT (5900), SS_TITLE, SS_WINDOW_MANAGER,
# VNC_PASSWORD_FILE (optional x11vnc -storepasswd file; without it no password is asked).
set -eu
geometry="${SS_GEOMETRY:-1280x800}"
export DISPLAY=:0 HOME="${HOME:-/tmp}"
Xvfb :0 -screen 0 "${geometry}x24" -nolisten tcp -extension GLX &
xvfb=$!
i=0
while [ ! -S /tmp/.X11-unix/X0 ]; do
  kill -0 "$xvfb" 2>/dev/null || { echo "Xvfb exited before its display was ready" >&2; exit 90; }
  i=$((i + 1)); [ "$i" -lt 500 ] || { echo "Xvfb did not start within 10 s" >&2; exit 90; }
  sleep 0.02
done
auth="-nopw"
[ -n "${VNC_PASSWORD_FILE:-}" ] && auth="-rfbauth $VNC_PASSWORD_FILE"
# shellcheck disable=SC2086 # $auth is one or two words on purpose
x11vnc -display :0 -rfbport "${VNC_PORT:-5900}" -forever -shared -norc -noxdamage -quiet \
  -desktop "${SS_TITLE:-StreamSpace}" -xrandr newfbsize $auth &
if [ -n "${SS_WINDOW_MANAGER:-}" ]; then "$SS_WINDOW_MANAGER" & fi
[ $# -gt 0 ] || set -- streamspace-desktop
exec "$@"
