/**
 * What is running on this machine, read from /proc: the process table with parents and process
 * groups, a process's environment, and the TCP ports a set of processes listens on. The test
 * runner uses it to find what a test left behind (by the marker variable every process a test
 * starts inherits) and `npm start`'s test uses it to see the whole tree it must stop. Linux only,
 * like the rest of the local tooling; elsewhere every function answers "nothing".
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

/** One row of the process table. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** The command line joined with spaces (empty for kernel threads and zombies). */
  cmdline: string;
  /** "Z" for a zombie: it has exited and waits for its parent to collect it. */
  state: string;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/** Every process visible to us; processes that exit while we read are skipped. */
export function listProcesses(): ProcessInfo[] {
  if (!existsSync("/proc/self/stat")) return [];
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = readOr(`/proc/${pid}/stat`, "");
    // The command name is in parentheses and may itself contain spaces or parentheses.
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const [state = "", ppid = "0", pgid = "0"] = stat.slice(close + 2).split(" ");
    const cmdline = readOr(`/proc/${pid}/cmdline`, "").split("\0").join(" ").trim();
    out.push({ pid, ppid: Number(ppid), pgid: Number(pgid), cmdline, state });
  }
  return out;
}

/** The live (non-zombie) descendants of `pid`, children before grandchildren. */
export function descendantsOf(pid: number, table = listProcesses()): ProcessInfo[] {
  const byParent = new Map<number, ProcessInfo[]>();
  for (const p of table) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of byParent.get(queue.shift() as number) ?? []) {
      if (c.state !== "Z") out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** A process's environment as it was started (empty when it cannot be read). */
export function processEnv(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const kv of readOr(`/proc/${pid}/environ`, "").split("\0")) {
    const eq = kv.indexOf("=");
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return env;
}

/**
 * Live processes (other than this one) whose environment `match` accepts: how the test runner
 * finds everything a test started, since every child inherits the marker variables.
 */
export function processesWithEnv(
  match: (env: Map<string, string>) => boolean,
  table = listProcesses(),
): ProcessInfo[] {
  return table.filter((p) => p.state !== "Z" && p.pid !== process.pid && match(processEnv(p.pid)));
}

/** A listening TCP socket: its address, port and the process holding it. */
export interface Listener {
  address: string;
  port: number;
  pid: number;
}

function hexToAddress(hex: string): string {
  if (hex.length === 8) {
    // IPv4, little-endian bytes.
    return [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
  }
  if (/^0+$/.test(hex)) return "::";
  if (hex === "00000000000000000000000001000000") return "::1";
  if (hex.startsWith("0000000000000000FFFF0000")) return `::ffff:${hexToAddress(hex.slice(24))}`;
  return hex;
}

/** TCP sockets in LISTEN state held by any of `pids`. */
export function listenersOf(pids: Iterable<number>): Listener[] {
  const inodes = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) inodes.set(m[1], pid);
      } catch {}
    }
  }
  const out: Listener[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readOr(file, "").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is field 1, st field 3 ("0A" is LISTEN), inode field 9.
      if (f[3] !== "0A" || !f[1] || !f[9]) continue;
      const pid = inodes.get(f[9]);
      if (pid === undefined) continue;
      const [addr = "", port = "0"] = f[1].split(":");
      out.push({ address: hexToAddress(addr), port: Number.parseInt(port, 16), pid });
    }
  }
  return out;
}

/** True while a process with this pid exists (zombies count as gone). */
export function isAlive(pid: number): boolean {
  const stat = readOr(`/proc/${pid}/stat`, "");
  if (stat) return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals each process and its process group; ignores what is already gone. */
export function killAll(
  procs: Iterable<Pick<ProcessInfo, "pid" | "pgid">>,
  signal: NodeJS.Signals,
) {
  for (const p of procs) {
    for (const target of [p.pid, p.pgid > 1 && p.pgid === p.pid ? -p.pgid : 0]) {
      if (!target) continue;
      try {
        process.kill(target, signal);
      } catch {}
    }
  }
}
