#!/bin/sh
# One local desktop session as one process group (the agent spawns this detached, so this
# shell is the group leader and every process below inherits the group):
#   Xvfb picks a free display itself (-displayfd: no race with other users of the machine) and
#   writes it into a FIFO, so we wake the moment it is ready instead of polling;
#   x11vnc serves it on the loopback port the agent chose and reports it via -flag (the agent
#   watches that file itself);
#   the template's program runs in the foreground; when it exits the whole group ends.
# GLX is off unless the template sets SS_GLX=1: loading Mesa (LLVM) is most of Xvfb's start-up.
# SS_WINDOW_MANAGER (template env, e.g. openbox) starts a window manager before the program, so
# windows get focus by click and keys reach them wherever the pointer is.
# x11vnc names the desktop SS_TITLE (the template's visible name) and keeps the clipboard in
# step both ways (CLIPBOARD and PRIMARY; x11vnc's default, stated here on purpose).
# Inputs (environment): SS_DISPLAY_FILE, SS_PORT_FILE, SS_PORT, SS_GEOMETRY, SS_GLX, SS_TITLE,
# SS_WINDOW_MANAGER; "$@" = program.
fifo="$SS_DISPLAY_FILE.fifo"
rm -f "$fifo"
mkfifo -m 600 "$fifo" || exit 91
glx="-extension GLX"
[ "${SS_GLX:-0}" = 1 ] && glx=""
# shellcheck disable=SC2086 # $glx is empty or two words on purpose
Xvfb -displayfd 3 -screen 0 "${SS_GEOMETRY}x24" -nolisten tcp $glx 3>"$fifo" &
# Blocks until Xvfb writes its display number; end of file (empty) if Xvfb died first.
read -r num <"$fifo"
rm -f "$fifo"
[ -n "$num" ] || exit 90
echo "$num" >"$SS_DISPLAY_FILE"
display=":$num"
x11vnc -display "$display" -rfbport "$SS_PORT" -localhost -forever -shared -nopw -norc \
  -noxdamage -quiet -desktop "${SS_TITLE:-StreamSpace}" -xrandr newfbsize -flag "$SS_PORT_FILE" &
vnc=$!
# The program starts only once the VNC port is up; if x11vnc died (port taken), end the group
# so the agent sees the failure at once and retries on another port.
while [ ! -s "$SS_PORT_FILE" ]; do
  kill -0 "$vnc" 2>/dev/null || kill -TERM 0
  sleep 0.02
done
if [ -n "${SS_WINDOW_MANAGER:-}" ]; then
  if command -v "$SS_WINDOW_MANAGER" >/dev/null; then
    DISPLAY="$display" "$SS_WINDOW_MANAGER" &
  else
    echo "window manager $SS_WINDOW_MANAGER is not installed; running without one" >&2
  fi
fi
DISPLAY="$display" "$@"
kill -TERM 0
