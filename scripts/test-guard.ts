/**
 * Preloaded into every test file's process by scripts/test.ts (`--import`), so a test that leaves
 * something running fails its file instead of hanging the run or leaving orphans behind:
 *
 * - Once the file's tests and hooks are done the process must exit by itself. If it is still
 *   alive LINGER_MS later, something holds the event loop open (a server, a socket, a child
 *   process, an interval): the guard names what, stops the processes, and exits 1.
 * - When the process exits, any process it started that is still running is named, killed
 *   with its process group, and the file fails.
 *
 * The runner adds a second check outside this process (a marker variable every child
 * inherits), which also catches what escaped by daemonizing or by this process being killed.
 */
import { after } from "node:test";
import { descendantsOf, killAll, type ProcessInfo } from "./process-table.ts";

/** Longer than any file's own cleanup hooks (they run after this one is registered). */
const LINGER_MS = Number(process.env.TEST_LINGER_MS ?? 60_000);

/** tsx and esbuild keep a service child that exits when its parent's pipe closes. */
const SELF_ENDING = /(^|\/)esbuild(\.exe)? --service/;

function leftovers(): ProcessInfo[] {
  return descendantsOf(process.pid).filter((p) => !SELF_ENDING.test(p.cmdline));
}

function describe(procs: ProcessInfo[]): string {
  return procs
    .map((p) => `  pid ${p.pid} (group ${p.pgid}): ${p.cmdline.slice(0, 200)}`)
    .join("\n");
}

// Only inside a test file's process (node --test marks it), never in the runner itself.
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    setTimeout(() => {
      const resources = process
        .getActiveResourcesInfo()
        .filter((r) => r !== "PipeWrap" && r !== "TTYWrap");
      const procs = leftovers();
      process.stderr.write(
        `\ntest-guard: this file's tests finished ${LINGER_MS / 1000} s ago but its process ` +
          `is still held open by: ${resources.join(", ") || "(nothing Node reports)"}\n` +
          (procs.length
            ? `and these processes it started are still running:\n${describe(procs)}\n`
            : "") +
          "Close every server, socket, timer and child a test opens (await using / finally).\n",
      );
      process.exit(1);
    }, LINGER_MS).unref();
  });

  process.on("exit", () => {
    const procs = leftovers();
    if (procs.length === 0) return;
    process.stderr.write(
      `\ntest-guard: processes this file started are still running at exit; killing them:\n${describe(procs)}\n`,
    );
    killAll(procs, "SIGKILL");
    process.exitCode = 1;
  });
}
