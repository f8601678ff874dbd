#!/bin/sh
# One desktop per container: Xvfb on :0, the matchbox window manager, x11vnc serving the display
# on $VNC_PORT (5900) to whoever reaches the pod (the chart's NetworkPolicy admits only the
# agent), then the program ("$@", default xterm) in the foreground: when it exits the container
# ends and the driver reports the session stopped. tini (PID 1) reaps and forwards signals.
# Environment: SS_GEOMETRY (1280x800), VNC_PORT (5900), VNC_PASSWORD_FILE (optional: an x11vnc
# -storepasswd file; without it the server asks for no password).
set -eu
geometry="${SS_GEOMETRY:-1280x800}"
export DISPLAY=:0 HOME="${HOME:-/tmp}"
# GLX off: Mesa's start-up cost is most of Xvfb's, and terminals never use it.
Xvfb :0 -screen 0 "${geometry}x24" -nolisten tcp -extension GLX &
xvfb=$!
i=0
while [ ! -S /tmp/.X11-unix/X0 ]; do
  kill -0 "$xvfb" 2>/dev/null || { echo "Xvfb exited before its display was ready" >&2; exit 90; }
  i=$((i + 1)); [ "$i" -lt 500 ] || { echo "Xvfb did not start within 10 s" >&2; exit 90; }
  sleep 0.02
done
matchbox-window-manager -use_titlebar no &
auth="-nopw"
[ -n "${VNC_PASSWORD_FILE:-}" ] && auth="-rfbauth $VNC_PASSWORD_FILE"
# shellcheck disable=SC2086 # $auth is one or two words on purpose
x11vnc -display :0 -rfbport "${VNC_PORT:-5900}" -forever -shared -norc -noxdamage -quiet $auth &
[ $# -gt 0 ] || set -- xterm
exec "$@"
