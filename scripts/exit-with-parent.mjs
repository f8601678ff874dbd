// Preload (`node --import scripts/exit-with-parent.mjs …`) for the processes a launcher owns:
// when the launcher dies without stopping them (SIGKILL, a crash, a test runner's timeout), the
// kernel re-parents them and they would run on as orphans holding ports. Each one polls its
// parent id and, once it is no longer the launcher named in STREAMSPACE_EXIT_WITH, sends itself
// SIGTERM so its own graceful shutdown runs (the agent stops its desktops); if that shutdown
// hangs, it exits anyway. Plain JavaScript so bundled deployables can load it without tsx.
const owner = Number(process.env.STREAMSPACE_EXIT_WITH);
// Our own children are not the launcher's: they must not inherit the marker.
delete process.env.STREAMSPACE_EXIT_WITH;
const POLL_MS = 250;
const HARD_EXIT_MS = 20_000;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

// A process that inherited the flags and the variable anyway (node --test passes both to the
// file it runs) is not the launcher's child: it has another parent while the launcher lives.
const ours = Number.isInteger(owner) && owner > 0 && (process.ppid === owner || !alive(owner));

if (ours) {
  const check = () => {
    if (process.ppid === owner) return;
    clearInterval(timer);
    process.emitWarning(`launcher ${owner} is gone; stopping (pid ${process.pid})`);
    setTimeout(() => process.exit(1), HARD_EXIT_MS).unref();
    process.kill(process.pid, "SIGTERM");
  };
  const timer = setInterval(check, POLL_MS);
  timer.unref();
  // The launcher may already be gone before this line runs.
  queueMicrotask(check);
}
