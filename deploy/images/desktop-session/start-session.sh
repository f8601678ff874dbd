#!/bin/sh
# One desktop per container for the full-desktop and browser images: TigerVNC's Xtigervnc on
# :0 (X server and VNC server in one, on $VNC_PORT 5900) that follows the viewer's window size
# (SetDesktopSize), names the desktop $SS_TITLE and shares the clipboard both ways; an
# optional window manager ($SS_WINDOW_MANAGER); then the session program ("$@",
# streamspace-desktop or streamspace-browser, the same programs the local driver runs) in the
# foreground: when it ends the container ends. tini (PID 1) reaps and forwards signals.
# Environment: SS_GEOMETRY (1280x800), VNC_PORT (5900), SS_TITLE, SS_WINDOW_MANAGER,
# VNC_PASSWORD_FILE (optional vncpasswd file; without it no password is asked).
set -eu
geometry="${SS_GEOMETRY:-1280x800}"
export DISPLAY=:0 HOME="${HOME:-/tmp}"
security="-SecurityTypes None"
[ -n "${VNC_PASSWORD_FILE:-}" ] && security="-SecurityTypes VncAuth -PasswordFile $VNC_PASSWORD_FILE"
# shellcheck disable=SC2086 # $security is several words on purpose
Xtigervnc :0 -geometry "$geometry" -depth 24 -rfbport "${VNC_PORT:-5900}" $security \
  -desktop "${SS_TITLE:-StreamSpace}" -AcceptSetDesktopSize=1 -nolisten tcp -quiet \
  -extension GLX &
xserver=$!
i=0
while [ ! -S /tmp/.X11-unix/X0 ]; do
  kill -0 "$xserver" 2>/dev/null || { echo "Xtigervnc exited before its display was ready" >&2; exit 90; }
  i=$((i + 1)); [ "$i" -lt 500 ] || { echo "Xtigervnc did not start within 10 s" >&2; exit 90; }
  sleep 0.02
done
if [ -n "${SS_WINDOW_MANAGER:-}" ]; then "$SS_WINDOW_MANAGER" & fi
[ $# -gt 0 ] || set -- streamspace-desktop
exec "$@"
