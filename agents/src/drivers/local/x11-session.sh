#!/bin/sh
# One local desktop session as one process group (the agent spawns this detached, so this
# shell is the group leader and every process below inherits the group). Two ways to serve an
# X display over VNC, chosen by what is installed (SS_VNC_SERVER=xvnc|x11vnc forces one):
#   Xtigervnc (TigerVNC, Debian tigervnc-standalone-server): one process is the X server and
#   the VNC server, and it accepts the viewer's SetDesktopSize, so the desktop follows the
#   browser window (RandR resizes the screen; window managers and panels follow);
#   Xvfb + x11vnc: x11vnc refuses SetDesktopSize (0.9.16 sets no resize hook), so the desktop
#   keeps its start size and the viewer scales it; a resize made inside the session
#   (xrandr --fb, up to the start size) still reaches the viewer (-xrandr newfbsize).
# The X server picks a free display itself (-displayfd: no race with other users of the
# machine) and writes it into a FIFO, so we wake the moment it is ready instead of polling.
# The VNC port is the agent's choice and is reported in SS_PORT_FILE (the agent watches it):
# Xtigervnc listens before it reports its display; x11vnc writes the file itself (-flag).
# The template's program runs in the foreground; when it exits the whole group ends.
# GLX is off unless the template sets SS_GLX=1: loading Mesa (LLVM) is most of Xvfb's start-up.
# SS_WINDOW_MANAGER (template env, e.g. openbox) starts a window manager before the program, so
# windows get focus by click and keys reach them wherever the pointer is.
# Both servers name the desktop SS_TITLE (the template's visible name) and keep the clipboard
# in step both ways (CLIPBOARD and PRIMARY; their defaults, stated here on purpose).
# Inputs (environment): SS_DISPLAY_FILE, SS_PORT_FILE, SS_PORT, SS_GEOMETRY, SS_GLX, SS_TITLE,
# SS_WINDOW_MANAGER, SS_VNC_SERVER; "$@" = program.
fifo="$SS_DISPLAY_FILE.fifo"
rm -f "$fifo"
mkfifo -m 600 "$fifo" || exit 91
glx="-extension GLX"
[ "${SS_GLX:-0}" = 1 ] && glx=""
title="${SS_TITLE:-StreamSpace}"
server="${SS_VNC_SERVER:-}"
if [ -z "$server" ]; then
  server=x11vnc
  command -v Xtigervnc >/dev/null && server=xvnc
fi
if [ "$server" = xvnc ]; then
  # shellcheck disable=SC2086 # $glx is empty or two words on purpose
  Xtigervnc -displayfd 3 -geometry "$SS_GEOMETRY" -depth 24 -rfbport "$SS_PORT" -localhost=1 \
    -interface 127.0.0.1 -SecurityTypes None -desktop "$title" -AcceptSetDesktopSize=1 \
    -nolisten tcp -quiet $glx 3>"$fifo" &
else
  # shellcheck disable=SC2086 # $glx is empty or two words on purpose
  Xvfb -displayfd 3 -screen 0 "${SS_GEOMETRY}x24" -nolisten tcp $glx 3>"$fifo" &
fi
xserver=$!
# Blocks until the X server writes its display number; end of file (empty) if it died first.
read -r num <"$fifo"
rm -f "$fifo"
[ -n "$num" ] || exit 90
echo "$num" >"$SS_DISPLAY_FILE"
display=":$num"
if [ "$server" = xvnc ]; then
  vnc=$xserver
  echo "PORT=$SS_PORT" >"$SS_PORT_FILE.tmp" && mv "$SS_PORT_FILE.tmp" "$SS_PORT_FILE"
else
  x11vnc -display "$display" -rfbport "$SS_PORT" -localhost -forever -shared -nopw -norc \
    -noxdamage -quiet -desktop "$title" -xrandr newfbsize -flag "$SS_PORT_FILE" &
  vnc=$!
fi
# The program starts only once the VNC port is up; if the VNC server died (port taken), end
# the group so the agent sees the failure at once and retries on another port.
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
