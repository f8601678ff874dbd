/**
 * Spawning one local session: picks the kind (X11 stack or built-in server), checks the
 * template's program exists, starts the process group detached with its output in a log file
 * (never a pipe: the session must outlive the agent), and waits for the VNC server to report
 * its port through a file. On any failure the group is killed and its files removed, so a
 * retry starts clean.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, type FSWatcher, openSync, readFileSync, watch } from "node:fs";
import { basename, delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@streamspace/common/testing";
import { DriverError, type StartSpec } from "../../runtime/driver.ts";
import type { BuiltinCommand } from "./builtin-bundle.ts";
import type { LocalSessionRecord, LocalSessionStore } from "./local-session-store.ts";
import { groupMembers, processStartTime, terminateGroup } from "./process-group.ts";

/** Template image that selects the built-in VNC demo desktop. */
export const BUILTIN_IMAGE = "builtin:demo";

/** What a spawn needs from the driver. */
export interface SpawnOptions {
  store: LocalSessionStore;
  dataDir: string;
  geometry?: string;
  forceBuiltin?: boolean;
  startTimeoutMs?: number;
  /** How to run the built-in server (prepared lazily, once per driver). */
  builtin(): Promise<BuiltinCommand>;
  /** Called when the group leader exits, so the driver can notice at once. */
  onExit(): void;
}

const HERE = fileURLToPath(new URL(".", import.meta.url));
const X11_SCRIPT = join(HERE, "x11-session.sh");
const SESSION_PROGRAMS = join(HERE, "sessions");

/**
 * The session programs that ship with the agent ("streamspace-desktop", "streamspace-browser",
 * in ./sessions): a template names them like any program. One installed on PATH wins (the
 * desktop images put them in /usr/local/bin).
 */
export function resolveProgram(name: string): string | undefined {
  const found = which(name);
  if (found || !/^streamspace-[a-z]+$/.test(name)) return found;
  const builtin = join(SESSION_PROGRAMS, `${name}.sh`);
  return existsSync(builtin) ? builtin : undefined;
}

/** Finds an executable on PATH (or an absolute path); undefined when absent. */
export function which(bin: string): string | undefined {
  if (bin.includes("/")) return existsSync(bin) ? bin : undefined;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

/**
 * True when real X desktops are possible: TigerVNC's Xtigervnc (X and VNC server in one, which
 * follows the viewer's size), or Xvfb and x11vnc (x11-session.sh picks).
 */
export function hasX11Stack(): boolean {
  return Boolean(which("Xtigervnc") || (which("Xvfb") && which("x11vnc")));
}

/** Spawns one session's process group and resolves once its VNC server reports a port. */
export async function spawnLocalSession(
  spec: StartSpec,
  opts: SpawnOptions,
  signal: AbortSignal,
): Promise<LocalSessionRecord> {
  const { template } = spec;
  const image = template.image || BUILTIN_IMAGE;
  const program = template.command.length > 0 ? [...template.command] : [image];
  const builtin = image === BUILTIN_IMAGE || opts.forceBuiltin || !hasX11Stack();
  const resolved = builtin ? undefined : resolveProgram(program[0] ?? "");
  if (!builtin && !resolved) {
    throw new DriverError(
      "invalid_argument",
      `program ${JSON.stringify(program[0])} of template ${template.name || template.id} is not installed on this machine; install it or use image ${BUILTIN_IMAGE}`,
    );
  }
  const paths = opts.store.paths(spec.sessionId);
  opts.store.remove(spec.sessionId);
  const logFd = openSync(paths.log, "a");
  const geometry = opts.geometry ?? (builtin ? "1024x768" : "1280x800");
  const port = builtin ? 0 : await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...template.env,
    SS_PORT_FILE: paths.port,
    SS_DISPLAY_FILE: paths.display,
    SS_PORT: String(port),
    SS_GEOMETRY: geometry,
    // The name a person sees: the viewer's toolbar and the VNC desktop name.
    SS_TITLE: template.displayName || template.name || "StreamSpace desktop",
  };
  // The built-in server makes no TLS connections, and Node parses NODE_EXTRA_CA_CERTS at boot
  // whether or not TLS is used (~60 ms for a 220 KB bundle, most of the process's start).
  if (builtin) delete env.NODE_EXTRA_CA_CERTS;
  const runner = builtin ? await opts.builtin() : undefined;
  const x11Program = [resolved ?? "", ...program.slice(1)];
  const [cmd, args] = runner ? [runner.cmd, runner.args] : ["/bin/sh", [X11_SCRIPT, ...x11Program]];
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ["ignore", logFd, logFd],
    env,
    cwd: opts.dataDir,
  });
  closeSync(logFd);
  child.unref();
  child.on("exit", opts.onExit);
  const pgid = child.pid;
  if (pgid === undefined)
    throw new DriverError("unavailable", `could not spawn ${cmd}; check the agent's log`);
  try {
    const actual = await waitReady(paths.port, pgid, child, signal, opts.startTimeoutMs ?? 20_000);
    return {
      sessionId: spec.sessionId,
      kind: builtin ? "builtin" : "x11",
      pgid,
      startTime: processStartTime(pgid) ?? 0,
      port: actual,
      state: "running",
      createdAt: new Date().toISOString(),
    };
  } catch (err) {
    await terminateGroup(pgid, 500).catch(() => {});
    const tail = existsSync(paths.log) ? readFileSync(paths.log, "utf8").slice(-400) : "";
    opts.store.remove(spec.sessionId);
    if (err instanceof DriverError) throw err;
    throw new DriverError(
      "unavailable",
      `session ${spec.sessionId} did not start: ${(err as Error).message}. Output: ${tail}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Resolves with the port once the port file has a number in it. The file's appearance is
 * noticed through inotify on its folder (a start must not pay a poll interval); a slower poll
 * stays as the safety net and checks that the group is still alive (a /proc scan, too costly
 * to run on every wake-up). The leader's exit wakes the check at once.
 */
function waitReady(
  portFile: string,
  pgid: number,
  child: ChildProcess,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  return new Promise<number>((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (err: Error | undefined, port?: number) => {
      if (settled) return;
      settled = true;
      watcher?.close();
      clearTimeout(timer);
      child.off("exit", onExit);
      signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(port as number);
    };
    const readPort = (): boolean => {
      const text = existsSync(portFile) ? readFileSync(portFile, "utf8") : "";
      const m = /(\d+)/.exec(text);
      if (m) finish(undefined, Number(m[1]));
      return Boolean(m);
    };
    const check = (full: boolean) => {
      if (settled || readPort()) return;
      if (full && groupMembers(pgid).length === 0)
        finish(new Error("the session's processes exited during start"));
      else if (Date.now() > deadline)
        finish(new Error("no VNC port reported before the start timeout"));
    };
    const onExit = () => setTimeout(() => check(true), 20);
    const onAbort = () =>
      finish(
        new DriverError(
          "unavailable",
          "the start command's deadline passed before the desktop was ready",
        ),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    child.once("exit", onExit);
    const name = basename(portFile);
    try {
      watcher = watch(dirname(portFile), (_ev, file) => {
        if (file === name || file === null) check(false);
      });
      watcher.on("error", () => {});
    } catch {
      // No inotify (exhausted watches): the poll below still finds the file.
    }
    const poll = () => {
      check(true);
      if (!settled) timer = setTimeout(poll, 100);
    };
    // The file may already be there if the server was quicker than the watch.
    check(false);
    if (!settled) timer = setTimeout(poll, 100);
  });
}
