/**
 * A child process that its launcher owns: started in its own process group (so a terminal's
 * Ctrl-C reaches the launcher, which stops its children in order, and so stopping it reaches
 * whatever it started in its group), and, for Node children, with the exit-with-parent preload
 * so it stops by itself when the launcher dies without stopping it. Every launcher here
 * (`npm start`, the local cluster, the multi-pod cluster, the test services) spawns through
 * this, so "stop" means the same everywhere: a signal to the group, a grace period, SIGKILL.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const EXIT_WITH_PARENT = fileURLToPath(new URL("./exit-with-parent.mjs", import.meta.url));

/** How a child ended. */
export interface ChildExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running child and the means to stop it; disposing stops it. */
export interface OwnedChild extends AsyncDisposable {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Resolves once the child has exited, however that happened. */
  exited: Promise<ChildExit>;
  readonly alive: boolean;
  /** Signals the whole group, waits, then SIGKILLs the group after `graceMs`. */
  stop(opts?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<ChildExit>;
}

/** Node arguments that make a Node child stop when its launcher (this process) dies. */
export function exitWithParentArgs(): string[] {
  return ["--import", EXIT_WITH_PARENT];
}

/** The environment entry that names this process as the launcher to watch. */
export function exitWithParentEnv(): Record<string, string> {
  return { STREAMSPACE_EXIT_WITH: String(process.pid) };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone (or never formed); the process itself may still be there.
    try {
      child.kill(signal);
    } catch {}
  }
}

/**
 * Spawns `command` in its own process group. For `node` children pass `node: true`: the
 * exit-with-parent preload is added in front of `args`.
 */
export function spawnOwned(
  name: string,
  command: string,
  args: string[],
  opts: Omit<SpawnOptions, "detached"> & { node?: boolean } = {},
): OwnedChild {
  const { node, ...spawnOpts } = opts;
  const child = spawn(command, node ? [...exitWithParentArgs(), ...args] : args, {
    ...spawnOpts,
    env: { ...(spawnOpts.env ?? process.env), ...(node ? exitWithParentEnv() : {}) },
    detached: true,
  });
  let ended: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once("exit", (code, signal) => {
      ended = { name, code, signal };
      resolve(ended);
    });
    // A spawn failure (missing binary) emits "error" and never "exit".
    child.once("error", () => {
      if (child.pid === undefined) {
        ended = { name, code: null, signal: null };
        resolve(ended);
      }
    });
  });
  const stop: OwnedChild["stop"] = async ({ signal = "SIGTERM", graceMs = 10_000 } = {}) => {
    if (!ended) {
      signalGroup(child, signal);
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    // Whatever the leader left in its group goes with it.
    signalGroup(child, "SIGKILL");
    return ended as ChildExit;
  };
  return {
    name,
    child,
    pid: child.pid ?? -1,
    exited,
    get alive() {
      return ended === undefined;
    },
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}
