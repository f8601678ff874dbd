#!/usr/bin/env bash
# Runs "$@" and ends it when file descriptor 3 reaches end of file, which happens when the
# process that started this script is gone, however it went (a crashed or SIGKILLed test run
# included), so a test bed never outlives its owner. SIGTERM/SIGINT stop the command too.
set -u
"$@" 3<&- &
child=$!
stop() { kill -TERM "$child" 2>/dev/null; }
trap stop TERM INT
# `read` is a builtin, so the watcher is one subshell and no extra process holds the pipe.
( while read -r -u 3 _; do :; done; stop; sleep 5; kill -KILL "$child" 2>/dev/null ) &
watcher=$!
exec 3<&-
code=0
while :; do
  wait "$child"
  code=$?
  kill -0 "$child" 2>/dev/null || break
done
# Freeze the watcher before taking its grace-period sleep with it, so neither outlives us.
kill -STOP "$watcher" 2>/dev/null
pkill -KILL -P "$watcher" 2>/dev/null
kill -KILL "$watcher" 2>/dev/null
exit "$code"
