/**
 * Process-group bookkeeping from /proc, for the local driver. A session is one process group,
 * so signals go to the group (negative pid) and "is it alive?" means "does any non-zombie
 * process still carry this group id". Zombies are ignored because PID 1 in a container may
 * never reap the grandchildren we orphan; they use no resources and hold no ports.
 */
import { readdirSync, readFileSync } from "node:fs";

/** One live process of a group, with its one-letter state ("R", "S", "T", ...). */
export interface GroupMember {
  pid: number;
  state: string;
}

interface Stat {
  state: string;
  pgrp: number;
  startTime: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // "pid (comm) S ppid pgrp ..."; comm may hold spaces and parentheses, so cut at the last ")".
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: f[0] ?? "?", pgrp: Number(f[2]), startTime: Number(f[19]) };
}

/** The start time (clock ticks since boot) of a process: with the pid it names one process for good. */
export function processStartTime(pid: number): number | undefined {
  return readStat(pid)?.startTime;
}

/** True while the process exists and is not a zombie. */
export function isLive(pid: number): boolean {
  const st = readStat(pid);
  return st !== undefined && st.state !== "Z" && st.state !== "X";
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): GroupMember[] {
  const out: GroupMember[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readStat(pid);
    if (st && st.pgrp === pgid && st.state !== "Z" && st.state !== "X")
      out.push({ pid, state: st.state });
  }
  return out;
}

/**
 * Group ids that still have a live member, from one pass over /proc: checking N sessions costs
 * one scan instead of N (the reaper runs this for every session twice a second).
 */
export function liveGroups(): Set<number> {
  const out = new Set<number>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readStat(pid);
    if (st && st.state !== "Z" && st.state !== "X") out.add(st.pgrp);
  }
  return out;
}

/** Sends `signal` to every process of the group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Ends a group: SIGTERM (plus SIGCONT, since a stopped process acts on SIGTERM only once it
 * runs), then SIGKILL after `graceMs`. Resolves when no live member remains, or throws.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, "SIGTERM");
  signalGroup(pgid, "SIGCONT");
  if (await until(() => groupMembers(pgid).length === 0, graceMs)) return;
  signalGroup(pgid, "SIGKILL");
  if (await until(() => groupMembers(pgid).length === 0, 5_000)) return;
  throw new Error(`process group ${pgid} survived SIGKILL: ${JSON.stringify(groupMembers(pgid))}`);
}

/** Resolves true once every live member of the group is in state `state`, false at the deadline. */
export function waitGroupState(
  pgid: number,
  state: "T" | "running",
  timeoutMs: number,
): Promise<boolean> {
  return until(() => {
    const m = groupMembers(pgid);
    return m.length > 0 && m.every((p) => (state === "T" ? p.state === "T" : p.state !== "T"));
  }, timeoutMs);
}
