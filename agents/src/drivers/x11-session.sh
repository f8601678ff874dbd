#!/bin/sh
# One local desktop session as one process group (the agent spawns this detached, so this
# shell is the group leader and every process below inherits the group):
#   Xvfb picks a free display itself (-displayfd: no race with other users of the machine),
#   x11vnc serves it on the loopback port the agent chose and reports it via -flag,
#   the template's program runs in the foreground; when it exits the whole group ends.
# Inputs (environment): SS_DISPLAY_FILE, SS_PORT_FILE, SS_PORT, SS_GEOMETRY; "$@" = program.
Xvfb -displayfd 3 -screen 0 "${SS_GEOMETRY}x24" -nolisten tcp 3>"$SS_DISPLAY_FILE" &
xvfb=$!
while [ ! -s "$SS_DISPLAY_FILE" ]; do
  kill -0 "$xvfb" 2>/dev/null || exit 90
  sleep 0.02
done
display=":$(cat "$SS_DISPLAY_FILE")"
x11vnc -display "$display" -rfbport "$SS_PORT" -localhost -forever -shared -nopw -norc \
  -noxdamage -quiet -flag "$SS_PORT_FILE" &
vnc=$!
# The program starts only once the VNC port is up; if x11vnc died (port taken), end the group
# so the agent sees the failure at once and retries on another port.
while [ ! -s "$SS_PORT_FILE" ]; do
  kill -0 "$vnc" 2>/dev/null || kill -TERM 0
  sleep 0.02
done
DISPLAY="$display" "$@"
kill -TERM 0
