/**
 * What the Kubernetes benchmarks share: a test bed of their own, a namespace with the agent's
 * documented RBAC (the agent runs as that ServiceAccount, so the bed's audit log holds exactly
 * its requests), the whole system (control plane, relay, N agent replicas), a WatchSessions
 * stream that times state changes without polling, and the agent process's RSS and CPU.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { applyAgentRbac } from "../../agents/src/drivers/kubernetes/rbac-test-kit.ts";
import { type KubeSystem, startKubeSystem } from "../../e2e/kube-system.ts";
import { type K8sTestbed, startK8sTestbed } from "../../scripts/k8s-testbed/testbed.ts";

/** Wall-clock ms with sub-ms resolution, comparable with log timestamps. */
export const wall = () => performance.timeOrigin + performance.now();

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

/** Times WatchSessions events: `until(id, state)` resolves with the wall time it was seen. */
export function watchStates(sys: KubeSystem) {
  const seen = new Map<string, { state: SessionState; at: number; reason: string }>();
  const waiters = new Map<
    string,
    { want: SessionState; resolve: (at: number) => void; reject: (e: Error) => void }
  >();
  const abort = new AbortController();
  const done = (async () => {
    try {
      for await (const ev of sys.sessions.watchSessions(
        {},
        { headers: sys.auth, signal: abort.signal },
      )) {
        const s = ev.session;
        if (!s) continue;
        const at = wall();
        seen.set(s.id, { state: s.state, at, reason: s.stateReason });
        const w = waiters.get(s.id);
        if (w && s.state === w.want) {
          waiters.delete(s.id);
          w.resolve(at);
        } else if (w && s.state === SessionState.FAILED) {
          waiters.delete(s.id);
          w.reject(new Error(`session ${s.id} failed: ${s.stateReason}`));
        }
      }
    } catch {
      // aborted at the end of the benchmark
    }
  })();
  return {
    until(id: string, want: SessionState, timeoutMs = 120_000): Promise<number> {
      const s = seen.get(id);
      if (s?.state === want) return Promise.resolve(s.at);
      return new Promise<number>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`session ${id} not ${SessionState[want]} in time`)),
          timeoutMs,
        );
        waiters.set(id, {
          want,
          resolve: (at) => {
            clearTimeout(t);
            resolve(at);
          },
          reject: (e) => {
            clearTimeout(t);
            reject(e);
          },
        });
      });
    },
    async close() {
      abort.abort();
      await done;
    },
  };
}

/** RSS (bytes) and CPU time used so far (ms) of a process, from /proc. */
export function procStats(pid: number): { rssBytes: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { rssBytes: rssKb * 1024, cpuMs: (ticks * 1000) / 100 };
}

/** The system on a bed of its own, the agent acting as the documented ServiceAccount. */
export async function startKubeBench(opts: {
  replicas?: number;
  agentEnv?: Record<string, string>;
  onLog?: (name: string, line: string) => void;
}): Promise<{
  bed: K8sTestbed;
  ns: string;
  sys: KubeSystem;
  serviceAccount: string;
  stop(): Promise<void>;
}> {
  const bed = await startK8sTestbed({ own: true });
  try {
    const ns = await bed.namespace("bench");
    await applyAgentRbac(bed.admin, ns, "streamspace-agent");
    const kubeconfig = await bed.serviceAccountKubeconfig(ns, "streamspace-agent");
    const sys = await startKubeSystem({ kubeconfig, namespace: ns, ...opts });
    return {
      bed,
      ns,
      sys,
      serviceAccount: `system:serviceaccount:${ns}:streamspace-agent`,
      async stop() {
        await sys.stop();
        await bed.stop();
      },
    };
  } catch (err) {
    await bed.stop();
    throw err;
  }
}

/**
 * Requests `user` made, by verb, from the bed's audit log (distinct audit ids; the log is
 * written in batches, so this waits for the last one to land).
 */
export async function auditCount(bed: K8sTestbed, user: string): Promise<Map<string, number>> {
  await sleep(1500);
  const ids = new Map<string, string>();
  for (const line of readFileSync(bed.auditLog, "utf8").split("\n")) {
    if (!line.includes(user)) continue;
    const e = JSON.parse(line) as { auditID: string; verb: string; user?: { username?: string } };
    if (e.user?.username === user) ids.set(e.auditID, e.verb);
  }
  const byVerb = new Map<string, number>();
  for (const v of ids.values()) byVerb.set(v, (byVerb.get(v) ?? 0) + 1);
  return byVerb;
}

/** Per-verb difference of two audit counts, as `verb n, …` and a total. */
export function auditDelta(after: Map<string, number>, before: Map<string, number>) {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [v, n] of after) {
    const d = n - (before.get(v) ?? 0);
    if (d > 0) {
      out[v] = d;
      total += d;
    }
  }
  return { byVerb: out, total };
}
