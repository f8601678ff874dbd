/**
 * The chaos suite's judge: the invariants checked after every fault, from the database and the
 * agents' own records, and the recovery figures measured (never asserted: they go to
 * bench/RESULTS.md). A check returns sentences describing violations; an empty list is a pass.
 *
 *  - no command lost: once the system has settled, no outbox row is left unfinished;
 *  - no start duplicated: one StartSession row per session, run at most once by its agent;
 *  - no session stuck in a transitional state once every agent is back and the system settled;
 *  - every scripted agent runs exactly the sessions the database says it runs, in that state;
 *  - every scripted agent that holds a stream is online in the database;
 *  - viewers whose relay and agent were not hit were not interrupted;
 *  - `/ready` said degraded (or not ready) while Redis (or Postgres) was away.
 */
import { createRelayRing } from "@streamspace/common/relay-ring";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import pg from "pg";
import type { ChaosWorld } from "./chaos-cluster.ts";

const TRANSITIONAL = ["scheduled", "starting", "stopping", "hibernating", "waking"];

/**
 * Runs `q` on the cluster's database with a short-lived client. The checks run while Postgres
 * restarts: a connection that dies emits "error" on the client as well as failing the call, and
 * an "error" nobody listens to would end this process; every step has a deadline too.
 */
async function query<T>(world: ChaosWorld, q: string): Promise<T[]> {
  const c = new pg.Client({
    connectionString: world.cluster.databaseUrl,
    connectionTimeoutMillis: 5_000,
    query_timeout: 15_000,
  });
  c.on("error", () => {});
  await c.connect();
  try {
    return (await c.query(q)).rows as T[];
  } finally {
    await c.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true; resolves with the time it took, or undefined at the deadline. */
export async function timeUntil(fn: () => Promise<boolean> | boolean, deadlineMs: number) {
  const start = performance.now();
  while (performance.now() - start < deadlineMs) {
    if (await Promise.resolve(fn()).catch(() => false))
      return Math.round(performance.now() - start);
    await sleep(100);
  }
  return undefined;
}

/** True when every agent (scripted and real) holds a stream and the database has them online. */
export async function allAgentsBack(world: ChaosWorld): Promise<boolean> {
  if (!world.sims.every((s) => s.connected)) return false;
  const rows = await query<{ id: string }>(
    world,
    "SELECT id FROM agents WHERE state = 'online' AND id LIKE 'real-%'",
  );
  return rows.length === world.reals.length;
}

/** True when a fresh session on a scripted agent goes from CreateSession to running. */
export async function commandsFlow(world: ChaosWorld): Promise<boolean> {
  const c = world.sessions();
  const { session } = await c.createSession(
    { template: "demo-desktop", region: "sim" },
    world.admin,
  );
  const ok = await timeUntil(async () => {
    const s = (await world.sessions().getSession({ id: session!.id }, world.admin)).session;
    return s?.state === SessionState.RUNNING;
  }, 20_000);
  return ok !== undefined;
}

/** Waits until nothing is in flight: no transitional session, no unfinished command. */
export async function settle(world: ChaosWorld, deadlineMs = 90_000): Promise<number | undefined> {
  return timeUntil(async () => {
    const busy = await query<{ n: string }>(
      world,
      `SELECT (SELECT count(*) FROM sessions WHERE state IN (${TRANSITIONAL.map((s) => `'${s}'`).join(",")}))
            + (SELECT count(*) FROM agent_commands WHERE status IN ('pending','sent','acked')) AS n`,
    );
    return Number(busy[0]?.n) === 0;
  }, deadlineMs);
}

/** The database-side and agent-side invariants, after settle(). */
export async function checkInvariants(world: ChaosWorld): Promise<string[]> {
  const out: string[] = [];
  const stuck = await query<{ id: string; state: string; agent_id: string }>(
    world,
    `SELECT id, state, agent_id FROM sessions WHERE state IN (${TRANSITIONAL.map((s) => `'${s}'`).join(",")})`,
  );
  for (const s of stuck.slice(0, 5)) out.push(`session ${s.id} stuck ${s.state} on ${s.agent_id}`);
  if (stuck.length > 5) out.push(`… and ${stuck.length - 5} more stuck sessions`);
  const unfinished = await query<{ id: string; kind: string; status: string; agent_id: string }>(
    world,
    "SELECT id, kind, status, agent_id FROM agent_commands WHERE status IN ('pending','sent','acked')",
  );
  for (const c of unfinished.slice(0, 5))
    out.push(`command ${c.kind} ${c.id} to ${c.agent_id} left ${c.status} (lost)`);
  const twice = await query<{ session_id: string; n: string }>(
    world,
    "SELECT session_id, count(*) AS n FROM agent_commands WHERE kind = 'start_session' GROUP BY 1 HAVING count(*) > 1",
  );
  for (const t of twice) out.push(`session ${t.session_id} has ${t.n} StartSession commands`);
  for (const [sid, ids] of world.startsExecuted) {
    if (ids.size > 1) out.push(`session ${sid} was started ${ids.size} times by its agent`);
  }
  const live = await query<{ id: string; state: string; agent_id: string }>(
    world,
    "SELECT id, state, agent_id FROM sessions WHERE agent_id LIKE 'sim-%' AND state IN ('running','hibernated')",
  );
  const want = new Map(live.map((s) => [s.id, s]));
  const explain = async (sid: string) => {
    const r = await query<{ state: string; state_reason: string; agent_id: string }>(
      world,
      `SELECT state, state_reason, agent_id FROM sessions WHERE id = '${sid.replace(/'/g, "")}'`,
    );
    return r[0] ? `${r[0].state} on ${r[0].agent_id} (${r[0].state_reason})` : "no such session";
  };
  for (const sim of world.sims) {
    for (const [sid, st] of sim.sessions) {
      const db = want.get(sid);
      const mine = st === SessionState.RUNNING ? "running" : "hibernated";
      if (!db || db.agent_id !== sim.id || db.state !== mine) {
        out.push(`${sim.id} runs ${sid} ${mine}; the database says ${await explain(sid)}`);
      }
      want.delete(sid);
    }
  }
  for (const s of [...want.values()].slice(0, 5))
    out.push(`the database has ${s.id} ${s.state} on ${s.agent_id}, which does not run it`);
  out.push(...(await connectedButOffline(world)));
  return out;
}

/**
 * Scripted agents that hold a stream although the database does not say online (so they get
 * no new sessions). A heartbeat or two may pass before the database catches up after a fault.
 */
async function connectedButOffline(world: ChaosWorld): Promise<string[]> {
  let wrong: string[] = [];
  const fine = await timeUntil(async () => {
    const online = new Set(
      (await query<{ id: string }>(world, "SELECT id FROM agents WHERE state = 'online'")).map(
        (r) => r.id,
      ),
    );
    wrong = world.sims.filter((s) => s.connected && !online.has(s.id)).map((s) => s.id);
    return wrong.length === 0;
  }, 15_000);
  if (fine !== undefined) return [];
  return [
    `${wrong.length} scripted agents hold a stream but the database does not say online (${wrong.slice(0, 5).join(", ")})`,
  ];
}

/** The relay that owns a session over the current relay set. */
export function ownerOf(world: ChaosWorld, sessionId: string): string | undefined {
  const ring = createRelayRing({
    epoch: 1n,
    members: world.cluster.relays.map((r) => ({ id: r.id, url: r.url })),
  });
  return ring.owner(sessionId)?.id;
}

/** The relay's close code for a viewer idle past VNC_PROXY_TIMEOUT (dataplane viewer-path). */
const IDLE_CLOSE = 4408;

/** Viewers that closed after `since` although neither their relay nor their agent was hit. */
export async function interruptedViewers(
  world: ChaosWorld,
  since: number,
  hit: { relays?: string[]; agents?: string[] },
): Promise<string[]> {
  const agentOf = new Map(
    (
      await query<{ id: string; agent_id: string }>(
        world,
        "SELECT id, agent_id FROM sessions WHERE agent_id LIKE 'real-%'",
      )
    ).map((r) => [r.id, r.agent_id]),
  );
  const out: string[] = [];
  for (const v of world.viewers) {
    if (!v.closed || v.closed.at < since) continue;
    // 4408: the relay closed a viewer that sent no input for VNC_PROXY_TIMEOUT (30 min by
    // default), by design, asking it to reconnect; these viewers only read, so a run longer
    // than that sees it. Not an interruption by a fault.
    if (v.closed.code === IDLE_CLOSE) continue;
    const relay = ownerOf(world, v.sessionId);
    const agent = agentOf.get(v.sessionId);
    if (hit.relays?.includes(relay ?? "") || hit.agents?.includes(agent ?? "")) continue;
    out.push(`viewer of ${v.sessionId} (relay ${relay}, agent ${agent}) closed ${v.closed.code}`);
  }
  return out;
}

/** Watches every pod's /ready until one reports the expected degradation. */
export async function readySays(
  world: ChaosWorld,
  what: "degraded" | "not-ready",
  deadlineMs = 20_000,
): Promise<boolean> {
  const t = await timeUntil(async () => {
    for (const cp of world.cluster.controlPlanes) {
      const res = await fetch(`${cp.url}/ready`, { signal: AbortSignal.timeout(3_000) }).catch(
        () => undefined,
      );
      if (!res) continue;
      const body = (await res.json().catch(() => ({}))) as { degraded?: boolean; ready?: boolean };
      if (what === "degraded" && body.degraded === true) return true;
      if (what === "not-ready" && (res.status >= 500 || body.ready === false)) return true;
    }
    return false;
  }, deadlineMs);
  return t !== undefined;
}
