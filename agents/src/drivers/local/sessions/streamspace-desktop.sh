#!/bin/sh
# A small, complete desktop on the session's X display (x11-session.sh runs this as the
# template's program): Openbox for windows (click to focus, right-click menu), a tint2 panel
# with launchers (terminal, files, browser when installed), a task list and a clock, and a
# terminal and a file manager open at the start. Openbox runs in the foreground: choosing
# Exit from its menu ends the session, as logging out would.
# Debian packages: openbox tint2 pcmanfm xterm (scripts/install-system-deps.sh).
here=$(dirname -- "$(readlink -f -- "$0")")
for bin in openbox tint2; do
  command -v "$bin" >/dev/null || { echo "$bin is not installed (apt-get install $bin)" >&2; exit 3; }
done
# A desktop background that is not X's black root window.
command -v xsetroot >/dev/null && xsetroot -solid "#2e3440"
openbox --startup "$here/desktop-autostart.sh" &
wm=$!
wait "$wm"
