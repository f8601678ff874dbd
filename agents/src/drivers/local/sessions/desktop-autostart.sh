#!/bin/sh
# Started by Openbox once it manages the screen (so the first windows get decorations and
# focus): the panel, then a terminal and the file manager. Each is optional so a machine with
# fewer packages still gets a working desktop.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
tint2 -c "$here/tint2rc" &
command -v pcmanfm >/dev/null && pcmanfm "$HOME" &
command -v xterm >/dev/null && xterm -geometry 90x24+40+40 &
exit 0
