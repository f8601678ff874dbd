/**
 * The faults, each injected into a running world under load, then healed, then judged
 * (chaos-checks.ts): violations for the test to assert, recovery figures for RESULTS.md.
 * Figures are milliseconds from the fault (or from the heal, where named so).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { SimAgent } from "../sim-agent.ts";
import {
  allAgentsBack,
  checkInvariants,
  commandsFlow,
  interruptedViewers,
  ownerOf,
  readySays,
  settle,
  timeUntil,
} from "./chaos-checks.ts";
import { type ChaosWorld, HEARTBEAT_TIMEOUT_MS } from "./chaos-cluster.ts";

/** What one fault left behind. */
export interface FaultReport {
  name: string;
  violations: string[];
  figures: Record<string, number | undefined>;
}

/** What a fault did, for the common judging steps. */
interface Injected {
  hit: { relays?: string[]; agents?: string[] };
  figures?: Record<string, number | undefined>;
  violations?: string[];
}

export interface Fault {
  name: string;
  inject(world: ChaosWorld): Promise<Injected>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const killControlPod: Fault = {
  name: "SIGKILL a control-plane pod",
  async inject(world) {
    const pod = world.cluster.controlPlanes[1]!;
    await pod.kill("SIGKILL");
    const agentsBackMs = await timeUntil(() => allAgentsBack(world), 60_000);
    await pod.restart();
    return { hit: {}, figures: { agentsBackMs } };
  },
};

/**
 * A viewer of `sessionId` that reads bytes again, opened as a browser would: retried until the
 * relay front routes it to a live relay. Resolves with the time of its first bytes, or undefined
 * at the deadline.
 */
async function reopenViewer(world: ChaosWorld, sessionId: string, deadlineMs: number) {
  const until = performance.now() + deadlineMs;
  while (performance.now() < until) {
    const v = await world.openViewer(sessionId).catch(() => undefined);
    if (v && (await timeUntil(() => v.bytes > 0 || v.closed !== undefined, 5_000)) !== undefined) {
      if (v.bytes > 0) return performance.now();
    }
    v?.ws.terminate();
    await sleep(250);
  }
  return undefined;
}

export const killRelay: Fault = {
  name: "SIGKILL a relay",
  async inject(world) {
    const relay = world.cluster.relays[1]!;
    const mine = world.viewers.filter((v) => !v.closed && ownerOf(world, v.sessionId) === relay.id);
    const killedAt = performance.now();
    await relay.kill("SIGKILL");
    // The viewers it served are cut and reconnect (a browser does so on close): time from the
    // kill to the last one's first bytes. One still open 10 s after the kill was not cut.
    const back = await Promise.all(
      mine.map(async (v) => {
        if ((await timeUntil(() => v.closed !== undefined, 10_000)) === undefined) return "kept";
        return reopenViewer(world, v.sessionId, 30_000);
      }),
    );
    const cut = back.filter((b) => b !== "kept");
    const viewersBackMs =
      cut.length && cut.every((b) => typeof b === "number")
        ? Math.round(Math.max(...(cut as number[])) - killedAt)
        : undefined;
    await relay.restart();
    return {
      hit: { relays: [relay.id] },
      figures: { viewersBackMs, viewersCut: cut.length, viewersKept: back.length - cut.length },
      violations:
        cut.length && viewersBackMs === undefined
          ? ["a cut viewer did not read bytes again within 30 s"]
          : [],
    };
  },
};

export const killRealAgent: Fault = {
  name: "SIGKILL a real agent",
  async inject(world) {
    const a = world.reals[0]!;
    await a.owned.stop({ signal: "SIGKILL" });
    await sleep(1_000);
    const restartedAt = performance.now();
    await a.restart();
    const agentBackMs = await timeUntil(() => allAgentsBack(world), 60_000);
    void restartedAt;
    return { hit: { agents: [a.id] }, figures: { agentBackAfterRestartMs: agentBackMs } };
  },
};

export const stopAgentPastTimeout: Fault = {
  name: "SIGSTOP an agent past the heartbeat timeout, then SIGCONT",
  async inject(world) {
    const a = world.reals[world.reals.length - 1]!;
    process.kill(a.owned.pid, "SIGSTOP");
    try {
      await sleep(HEARTBEAT_TIMEOUT_MS + 3_000);
    } finally {
      process.kill(a.owned.pid, "SIGCONT");
    }
    const agentBackMs = await timeUntil(() => allAgentsBack(world), 60_000);
    return { hit: { agents: [a.id] }, figures: { agentBackAfterContMs: agentBackMs } };
  },
};

export const restartRedis: Fault = {
  name: "restart Redis",
  async inject(world) {
    const downMs = 3_000;
    const degraded = readySays(world, "degraded", downMs + 10_000);
    await world.cluster.redis.restart(downMs);
    const violations = (await degraded)
      ? []
      : ["no pod's /ready said degraded while Redis was away"];
    const agentsBackMs = await timeUntil(() => allAgentsBack(world), 60_000);
    const commandsFlowMs = await timeUntil(() => commandsFlow(world), 60_000);
    return {
      hit: {},
      violations,
      figures: { agentsBackMs, commandsFlowAfterRedisMs: commandsFlowMs },
    };
  },
};

/** A Postgres restart; `downMs` 0 is a fast restart, 30 s a long outage. */
export function restartPostgres(downMs: number): Fault {
  return {
    name: downMs ? `restart Postgres (down ${downMs / 1000} s)` : "restart Postgres (fast)",
    async inject(world) {
      const notReady = downMs > 0 ? readySays(world, "not-ready", downMs + 10_000) : undefined;
      await world.cluster.postgres.restart(downMs);
      const violations =
        notReady && !(await notReady)
          ? ["no pod's /ready said not ready while Postgres was away"]
          : [];
      const commandsFlowMs = await timeUntil(() => commandsFlow(world), 120_000);
      return { hit: {}, violations, figures: { commandsFlowAfterPostgresMs: commandsFlowMs } };
    },
  };
}

/**
 * A scripted agent goes away while commands pile up for its sessions (stop, hibernate), then
 * comes back with its memory (sessions and dedupe) intact, as a restarted agent would report.
 */
export const fillOutboxWhileAway: Fault = {
  name: "fill the outbox while an agent is away",
  async inject(world) {
    const i = 0;
    const old = world.sims[i]!;
    const mine = [...old.sessions.entries()];
    await old.stop();
    await timeUntil(async () => {
      const c = world.sessions();
      const s = mine[0] && (await c.getSession({ id: mine[0][0] }, world.admin)).session;
      return !s || s.state !== SessionState.UNSPECIFIED;
    }, 10_000);
    let queued = 0;
    for (const [id, st] of mine) {
      const c = world.sessions();
      const call =
        st === SessionState.RUNNING
          ? Math.random() < 0.5
            ? c.hibernateSession({ id }, world.admin)
            : c.stopSession({ id }, world.admin)
          : c.wakeSession({ id }, world.admin);
      await call.then(
        () => queued++,
        () => {},
      );
    }
    const back = new SimAgent(world.simOptions[i]!);
    for (const [k, v] of old.sessions) back.sessions.set(k, v);
    for (const [k, v] of old.results) back.results.set(k, v);
    for (const [k, v] of old.executed) back.executed.set(k, v);
    world.sims[i] = back;
    back.start();
    const drainedMs = await timeUntil(
      async () => (await settle(world, 1_000)) !== undefined,
      90_000,
    );
    return { hit: {}, figures: { queued, outboxDrainedMs: drainedMs } };
  },
};

/**
 * A network partition of cp-3 (its own namespace, chaos-cluster.ts): cut for longer than the
 * heartbeat timeout, so its agents move to the other pods while it cannot reach Postgres or
 * Redis, then healed. Its /ready cannot be read from outside while it is cut off (that is the
 * partition), so readiness is not judged here; the pod must serve again once healed.
 */
export const partitionPod: Fault = {
  name: "partition a control-plane pod (its own network namespace)",
  async inject(world) {
    const p = world.partition;
    if (!p) return { hit: {}, violations: ["the world has no partitionable pod"] };
    const pod = world.cluster.controlPlanes[2]!;
    p.cut();
    let agentsMovedMs: number | undefined;
    try {
      // Its agents notice the silence (HTTP/2 pings) and re-dial one of the other pods.
      agentsMovedMs = await timeUntil(
        async () =>
          world.sims.every((s) => s.connected && s.pod !== pod.id) && allAgentsBack(world),
        HEARTBEAT_TIMEOUT_MS + 30_000,
      );
      await sleep(HEARTBEAT_TIMEOUT_MS);
    } finally {
      p.heal();
    }
    const podReadyMs = await timeUntil(
      async () =>
        (
          await fetch(`${pod.url}/ready`, { signal: AbortSignal.timeout(5_000) }).catch(
            () => undefined,
          )
        )?.ok === true,
      60_000,
    );
    const violations = podReadyMs === undefined ? ["the healed pod never became ready"] : [];
    return { hit: {}, violations, figures: { agentsMovedMs, podReadyAfterHealMs: podReadyMs } };
  },
};

/**
 * Control-plane pods and relays that are not running although every fault restarts what it
 * killed: each one crashed. Named with the last lines of its log, then started again so the
 * run goes on.
 */
async function crashedProcesses(world: ChaosWorld): Promise<string[]> {
  const out: string[] = [];
  for (const p of [...world.cluster.controlPlanes, ...world.cluster.relays]) {
    if (p.owned.alive) continue;
    const exit = await p.owned.exited;
    await new Promise((r) => setTimeout(r, 100)); // the log tail is written on exit
    let tail = "";
    try {
      tail = readFileSync(join(world.logDir, `${p.id}.log`), "utf8")
        .trim()
        .split("\n")
        .slice(-3)
        .join(" | ");
    } catch {}
    out.push(`${p.id} exited (${JSON.stringify(exit)}) on its own: ${tail.slice(0, 600)}`);
    await p
      .restart()
      .catch((err: unknown) => out.push(`${p.id} could not restart: ${String(err)}`));
  }
  return out;
}

/** Runs one fault under the load already running, then settles and judges. */
export async function runFault(world: ChaosWorld, fault: Fault): Promise<FaultReport> {
  const since = Date.now();
  const harnessBefore = world.harnessErrors.length;
  const injected = await fault.inject(world);
  await world.stopLoad();
  const settledMs = await settle(world);
  const violations = [
    ...(injected.violations ?? []),
    ...(await crashedProcesses(world)),
    ...(settledMs === undefined ? ["the system did not settle within 90 s"] : []),
    ...(await checkInvariants(world)),
    ...(await interruptedViewers(world, since, injected.hit)),
    ...world.harnessErrors
      .slice(harnessBefore)
      .map((e) => `the harness itself failed: ${e.slice(0, 600)}`),
  ];
  return { name: fault.name, violations, figures: { ...injected.figures, settledMs } };
}
