#!/bin/sh
# A web browser as the whole session, kiosk-like: Debian's Chromium full screen with no
# browser UI, under Openbox so it keeps keyboard focus. SS_BROWSER_URL (template env) is the
# page it opens. Closing the browser opens it again, so the session is the page; a browser
# that keeps failing at start (three times within 10 s each) ends the session instead of
# spinning.
url=${SS_BROWSER_URL:-about:blank}
browser=$(command -v chromium || command -v chromium-browser)
[ -n "$browser" ] || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 3; }
command -v openbox >/dev/null && openbox &
geometry=${SS_GEOMETRY:-1280x800}
profile="${TMPDIR:-/tmp}/streamspace-browser-$$"
mkdir -p "$profile"
trap 'rm -rf "$profile"' EXIT
# The sandbox needs user namespaces, which root in a container or on a CI host often lacks.
sandbox=""
[ "$(id -u)" = 0 ] && sandbox="--no-sandbox"
quick=0
while [ "$quick" -lt 3 ]; do
  started=$(date +%s)
  # shellcheck disable=SC2086 # $sandbox is empty or one word on purpose
  "$browser" $sandbox --kiosk --no-first-run --no-default-browser-check --disable-gpu \
    --disable-dev-shm-usage --password-store=basic --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" \
    --window-position=0,0 --window-size="$(echo "$geometry" | tr x ,)" "$url"
  if [ $(($(date +%s) - started)) -lt 10 ]; then quick=$((quick + 1)); else quick=0; fi
done
echo "chromium exited at start three times in a row; ending the session" >&2
exit 4
