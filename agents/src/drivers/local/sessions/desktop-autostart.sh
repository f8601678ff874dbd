#!/bin/sh
# Started by Openbox once it manages the screen (so the first windows get decorations and
# focus): the panel, then a terminal and the file manager. Each is optional so a machine with
# fewer packages still gets a working desktop.
here=$(dirname -- "$(readlink -f -- "$0")")
tint2 -c "$here/tint2rc" &
command -v pcmanfm >/dev/null && pcmanfm "$HOME" &
# A dark terminal with a scalable font (DejaVu, in Debian's base fonts) reads better than
# xterm's bitmap default.
command -v xterm >/dev/null &&
  xterm -geometry 96x26+40+40 -fa "DejaVu Sans Mono" -fs 10 -bg "#1f2430" -fg "#d8dee9" \
    -cr "#88c0d0" -title Terminal &
exit 0
