/**
 * Issue 4, item 7: three control-plane processes on one Postgres and one Redis, 100 simulated
 * agents (real gRPC streams) spread over them, sessions created through random pods.
 *  - SIGKILL one pod mid-stream: every agent it held comes back on another pod, every command
 *    completes exactly once (agent-side dedupe counted), no session is lost;
 *  - restart Redis mid-stream: the same guarantees, with no agent reconnect needed; sessions
 *    keep being created while Redis is down.
 * How fast the agents come back is a benchmark (bench/control-plane/pod-kill-recovery.ts), not
 * an assertion: the waits here are hang guards sized for a busy machine.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { describe, test } from "node:test";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { eventually } from "@streamspace/common/testing";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import pg from "pg";
import { startRedis } from "../scripts/services.ts";
import { type PodCluster, startPodCluster } from "./multipod-cluster.ts";
import { SimAgent } from "./sim-agent.ts";

const AGENTS = 100;
const t0 = Date.now();
const step = (m: string) =>
  console.error(`[multipod +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const postgresUrl = process.env.TEST_POSTGRES_URL;
if (!postgresUrl) throw new Error("TEST_POSTGRES_URL is not set: run through scripts/test.ts.");

/** The shared poller with this file's positional deadline. */
const within = <T>(fn: () => Promise<T> | T, timeoutMs: number) =>
  eventually(fn, { timeoutMs, intervalMs: 50 });
/** How long anything in this file may take before it counts as hung (not a speed target). */
const HANG = 120_000;

/** Cluster + agents + an API client per pod, torn down together. */
async function startWorld(redisUrl: string): Promise<Awaited<ReturnType<typeof populate>>> {
  step("starting 3 pods");
  const cluster = await startPodCluster({ n: 3, postgresUrl: postgresUrl as string, redisUrl });
  step("pods ready");
  try {
    return await populate(cluster);
  } catch (err) {
    console.error(cluster.logs());
    await cluster[Symbol.asyncDispose]();
    throw err;
  }
}

async function populate(cluster: PodCluster) {
  const urls = cluster.pods.map((p) => p.url);
  // Explicit session managers and a non-keep-alive agent, so disposal leaves no socket open.
  const managers = urls.map((u) => new Http2SessionManager(u));
  const transports = new Map<string, Transport>(
    urls.map((u, i) => [u, createGrpcTransport({ baseUrl: u, sessionManager: managers[i] })]),
  );
  const agent = new http.Agent({ keepAlive: false });
  const agents = Array.from(
    { length: AGENTS },
    (_, i) =>
      new SimAgent({
        id: `sim-${i}`,
        pods: urls,
        first: i % urls.length,
        bootstrapToken: cluster.bootstrapToken,
        transportFor: (u) => transports.get(u) as Transport,
        workMs: 5,
      }),
  );
  for (const a of agents) a.start();
  const login = await createClient(
    AuthService,
    createConnectTransport({
      baseUrl: urls[0] as string,
      httpVersion: "1.1",
      nodeOptions: { agent },
    }),
  ).login({ username: "admin", password: cluster.adminPassword });
  const token = login.tokens?.accessToken ?? "";
  const apis: Client<typeof SessionService>[] = urls.map((u) =>
    createClient(
      SessionService,
      createConnectTransport({
        baseUrl: u,
        httpVersion: "1.1",
        nodeOptions: { agent },
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ],
      }),
    ),
  );
  const db = new pg.Pool({ connectionString: cluster.databaseUrl, max: 2 });
  step("logged in; waiting for agents");
  try {
    await within(() => {
      const n = agents.filter((a) => a.connected).length;
      assert.equal(n, AGENTS, `${n} of ${AGENTS} agents connected`);
    }, HANG);
  } catch (err) {
    await Promise.all(agents.map((a) => a.stop()));
    for (const m of managers) m.abort();
    await db.end();
    throw err;
  }
  step("agents connected");
  return {
    cluster,
    agents,
    db,
    /** Creates `n` sessions through random live pods, `parallel` at a time; returns their ids. */
    async createSessions(n: number, parallel: number): Promise<string[]> {
      const ids: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < n) {
          next++;
          for (let attempt = 0; attempt < 20; attempt++) {
            const live = cluster.pods.map((p, i) => (p.alive ? i : -1)).filter((i) => i >= 0);
            const i = live[Math.floor(Math.random() * live.length)] as number;
            try {
              const r = await (apis[i] as Client<typeof SessionService>).createSession(
                { template: "demo-desktop" },
                { timeoutMs: 5_000 },
              );
              ids.push(r.session?.id ?? "");
              break;
            } catch (err) {
              if (attempt === 5) step(`create still failing: ${String(err).slice(0, 200)}`);
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
      return ids;
    },
    /** Every guarantee at once: all sessions running, all commands completed exactly once. */
    async assertAllDone(created: string[], cluster: PodCluster) {
      try {
        await within(async () => {
          const r = await db.query(
            "SELECT state, count(*)::int AS n FROM sessions GROUP BY state ORDER BY state",
          );
          assert.deepEqual(r.rows, [{ state: "running", n: r.rows[0]?.n }], JSON.stringify(r.rows));
          const c = await db.query(
            "SELECT count(*)::int AS n FROM agent_commands WHERE status <> 'completed'",
          );
          assert.equal(c.rows[0].n, 0);
        }, HANG);
      } catch (err) {
        console.error(cluster.logs());
        throw err;
      }
      const known = await db.query("SELECT id FROM sessions");
      const ids = new Set(known.rows.map((r) => r.id));
      for (const id of created) assert.ok(ids.has(id), `session ${id} was lost`);
      const cmds = await db.query("SELECT id FROM agent_commands");
      const executed = new Map<string, number>();
      let received = 0;
      for (const a of agents) {
        for (const [id, n] of a.executed) executed.set(id, (executed.get(id) ?? 0) + n);
        for (const n of a.received.values()) received += n;
      }
      assert.equal(executed.size, cmds.rowCount, "every command ran");
      for (const [id, n] of executed) assert.equal(n, 1, `command ${id} ran ${n} times`);
      return { commands: cmds.rowCount ?? 0, redeliveries: received - executed.size };
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(agents.map((a) => a.stop()));
      for (const m of managers) m.abort();
      await db.end();
      await cluster[Symbol.asyncDispose]();
    },
  };
}

describe("multi-pod control plane", { timeout: 10 * 60_000 }, () => {
  test("SIGKILL a pod mid-stream: agents move to other pods, commands exactly once, no session lost", async () => {
    await using redis = await startRedis();
    await using w = await startWorld(redis.url);
    const creating = w.createSessions(300, 12);
    step("creating");
    await within(async () => {
      const r = await w.db.query("SELECT count(*)::int AS n FROM sessions");
      assert.ok(r.rows[0].n >= 60);
    }, HANG);
    step("killing pod-1");
    const victims = w.agents.filter((a) => a.pod === "pod-1");
    assert.ok(victims.length >= 20, `pod-1 held ${victims.length} agents`);
    const killAt = Date.now();
    await w.cluster.kill(1);
    const created = await creating;
    step(`created ${created.length} sessions`);
    const back = await within(() => {
      return victims.map((a) => {
        const w2 = a.welcomes.find((x) => x.at > killAt);
        assert.ok(w2, `${a.id} never came back`);
        return { pod: w2.pod, ms: w2.at - killAt };
      });
    }, HANG);
    const worst = Math.max(...back.map((b) => b.ms));
    assert.ok(back.every((b) => b.pod !== "pod-1"));
    const done = await w.assertAllDone(created, w.cluster);
    console.error(
      `kill: ${victims.length} agents moved, slowest ${worst} ms; ${done.commands} commands, ${done.redeliveries} deduped redeliveries`,
    );
  });

  test("Redis restart mid-stream: commands exactly once, no session lost, routes heal", async () => {
    let redis = await startRedis();
    const port = redis.port;
    try {
      await using w = await startWorld(redis.url);
      const creating = w.createSessions(200, 8);
      await within(async () => {
        const r = await w.db.query("SELECT count(*)::int AS n FROM sessions");
        assert.ok(r.rows[0].n >= 40);
      }, HANG);
      await redis.stop();
      const degraded = await within(async () => {
        const r = await fetch(`${w.cluster.pods[0]?.url}/ready`);
        const body = (await r.json()) as { degraded: boolean };
        assert.equal(body.degraded, true);
        return r.status;
      }, HANG);
      assert.equal(degraded, 200, "a pod without Redis stays ready (degraded)");
      // Creates keep working with Redis down: these are accepted while it is away, and their
      // commands must still run exactly once once it is back.
      const duringOutage = await w.createSessions(10, 2);
      assert.equal(duringOutage.filter(Boolean).length, 10, "sessions created with Redis down");
      redis = await startRedis({ port });
      const created = [...(await creating), ...duringOutage];
      const done = await w.assertAllDone(created, w.cluster);
      await within(async () => {
        for (const p of w.cluster.pods) {
          const body = (await (await fetch(`${p.url}/ready`)).json()) as { degraded: boolean };
          assert.equal(body.degraded, false);
        }
      }, HANG);
      console.error(
        `redis restart: ${done.commands} commands, ${done.redeliveries} deduped redeliveries`,
      );
    } finally {
      await redis.stop();
    }
  });
});
