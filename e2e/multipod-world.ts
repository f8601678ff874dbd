/**
 * The multi-pod world shared by the multi-pod e2e test and the pod-kill benchmark: N
 * control-plane processes (multipod-cluster.ts) on one Postgres and one Redis, simulated agents
 * spread over them, an API client per pod, and the checks that prove "every command exactly
 * once, no session lost". Disposing it stops the agents, the clients and the pods.
 */
import assert from "node:assert/strict";
import http from "node:http";
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
import { type PodCluster, startPodCluster } from "./multipod-cluster.ts";
import { SimAgent } from "./sim-agent.ts";

/** How long anything here may take before it counts as hung (not a speed target). */
export const HANG = 120_000;

/** The shared poller with a positional deadline. */
export const within = <T>(fn: () => Promise<T> | T, timeoutMs: number) =>
  eventually(fn, { timeoutMs, intervalMs: 50 });

export interface WorldOptions {
  postgresUrl: string;
  redisUrl: string;
  pods?: number;
  agents?: number;
  /** Progress lines (the test prints them with timestamps). */
  step?: (m: string) => void;
}

/** A running world; see populate() for what it offers. */
export type World = Awaited<ReturnType<typeof populate>>;

/** Cluster + agents + an API client per pod, torn down together. */
export async function startWorld(opts: WorldOptions): Promise<World> {
  const step = opts.step ?? (() => {});
  const n = opts.pods ?? 3;
  step(`starting ${n} pods`);
  const cluster = await startPodCluster({
    n,
    postgresUrl: opts.postgresUrl,
    redisUrl: opts.redisUrl,
  });
  step("pods ready");
  try {
    return await populate(cluster, opts.agents ?? 100, step);
  } catch (err) {
    console.error(cluster.logs());
    await cluster[Symbol.asyncDispose]();
    throw err;
  }
}

async function populate(cluster: PodCluster, count: number, step: (m: string) => void) {
  const urls = cluster.pods.map((p) => p.url);
  // Explicit session managers and a non-keep-alive agent, so disposal leaves no socket open.
  const managers = urls.map((u) => new Http2SessionManager(u));
  const transports = new Map<string, Transport>(
    urls.map((u, i) => [u, createGrpcTransport({ baseUrl: u, sessionManager: managers[i] })]),
  );
  const agent = new http.Agent({ keepAlive: false });
  const agents = Array.from(
    { length: count },
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
      assert.equal(n, count, `${n} of ${count} agents connected`);
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
