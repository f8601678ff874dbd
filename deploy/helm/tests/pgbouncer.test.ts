/**
 * The control plane works through PgBouncer in transaction pooling mode, with the chart's own
 * pgbouncer.ini and userlist.txt (rendered by helm) run by Debian's pgbouncer against real
 * Postgres: two control-plane processes migrate, seed, admit agents and carry sessions to
 * running with every command executed exactly once, while Postgres sees no more server
 * connections than the pool allows. Only the listen address, ports and file paths of the
 * rendered config are changed (and [databases] routes any name, for the test's fresh database).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
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
import { startPodCluster } from "../../../e2e/multipod-cluster.ts";
import { SimAgent } from "../../../e2e/sim-agent.ts";
import { freePort, startPostgres, startRedis, waitForPort } from "../../../scripts/services.ts";
import { find, parseManifest, renderChart } from "./chart-kit.ts";

const POOL_SIZE = 3;
const PASSWORD = "pool-test-password";
const PGBOUNCER = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((p) => existsSync(p));

/** The chart's PgBouncer files, pointed at a local Postgres and a loopback port. */
async function pgbouncerConfig(dir: string, pgPort: number, port: number): Promise<string> {
  const objs = parseManifest(
    await renderChart("streamspace", [
      "--set",
      "pgbouncer.enabled=true",
      "--set",
      `pgbouncer.defaultPoolSize=${POOL_SIZE}`,
      "--set",
      `postgresql.auth.password=${PASSWORD}`,
    ]),
  );
  const ini: string = find(objs, "ConfigMap", "-pgbouncer").data["pgbouncer.ini"];
  const userlist = Buffer.from(
    find(objs, "Secret", "-connections").data["userlist.txt"],
    "base64",
  ).toString();
  assert.match(ini, /^pool_mode = transaction$/m);
  assert.match(ini, /^query_timeout = 15$/m, "PgBouncer holds the server-side query deadline");
  const local = ini
    .replace(/^streamspace = .*$/m, `* = host=127.0.0.1 port=${pgPort}`)
    .replace(/^listen_addr = .*$/m, "listen_addr = 127.0.0.1")
    .replace(/^listen_port = .*$/m, `listen_port = ${port}`)
    .replace(/^auth_file = .*$/m, `auth_file = ${join(dir, "userlist.txt")}`);
  writeFileSync(join(dir, "userlist.txt"), userlist, { mode: 0o644 });
  writeFileSync(join(dir, "pgbouncer.ini"), local, { mode: 0o644 });
  return join(dir, "pgbouncer.ini");
}

function startPgbouncer(ini: string): ChildProcess {
  if (!PGBOUNCER) {
    throw new Error('pgbouncer is not installed: run "sudo apt-get install -y pgbouncer".');
  }
  // PgBouncer refuses to run as root; Debian's postgres user (from the postgresql package) will do.
  const asRoot = process.getuid?.() === 0;
  const [cmd, args] = asRoot
    ? ["runuser", ["-u", "postgres", "--", PGBOUNCER, ini]]
    : [PGBOUNCER, [ini]];
  return spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
}

test("the control plane through PgBouncer in transaction pooling mode", {
  timeout: 300_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ss-pgbouncer-"));
  chmodSync(dir, 0o755);
  await using postgres = await startPostgres();
  await using redis = await startRedis();
  const port = await freePort();
  const bouncer = startPgbouncer(await pgbouncerConfig(dir, postgres.port, port));
  let bouncerLog = "";
  bouncer.stderr?.on("data", (d) => {
    bouncerLog = (bouncerLog + d).slice(-10_000);
  });
  const managers: Http2SessionManager[] = [];
  const agents: SimAgent[] = [];
  const direct = new pg.Pool({ connectionString: postgres.url, max: 1 });
  const onDone: (() => void)[] = [];
  try {
    await waitForPort(port, 15_000);
    const adminDb = new URL(postgres.url).pathname.slice(1);
    const viaBouncer = `postgres://streamspace:${PASSWORD}@127.0.0.1:${port}/${adminDb}`;
    await using cluster = await startPodCluster({
      n: 2,
      postgresUrl: viaBouncer,
      redisUrl: redis.url,
    });
    const urls = cluster.pods.map((p) => p.url);
    const dbName = new URL(cluster.databaseUrl).pathname.slice(1);
    const transports = new Map<string, Transport>(
      urls.map((u) => {
        const m = new Http2SessionManager(u);
        managers.push(m);
        return [u, createGrpcTransport({ baseUrl: u, sessionManager: m })];
      }),
    );
    for (let i = 0; i < 6; i++) {
      const a = new SimAgent({
        id: `pool-${i}`,
        pods: urls,
        first: i % urls.length,
        bootstrapToken: cluster.bootstrapToken,
        transportFor: (u) => transports.get(u) as Transport,
        workMs: 5,
      });
      agents.push(a);
      a.start();
    }
    const agent = new http.Agent({ keepAlive: false });
    const connect = (u: string, token?: string) =>
      createConnectTransport({
        baseUrl: u,
        httpVersion: "1.1",
        nodeOptions: { agent },
        interceptors: token
          ? [
              (next) => (req) => {
                req.header.set("authorization", `Bearer ${token}`);
                return next(req);
              },
            ]
          : [],
      });
    const login = await createClient(AuthService, connect(urls[0] as string)).login({
      username: "admin",
      password: cluster.adminPassword,
    });
    const token = login.tokens?.accessToken ?? "";
    const apis: Client<typeof SessionService>[] = urls.map((u) =>
      createClient(SessionService, connect(u, token)),
    );
    await eventually(() => assert.equal(agents.filter((a) => a.connected).length, 6), {
      timeoutMs: 30_000,
    });

    // Server connections Postgres holds for the test's database, sampled throughout.
    let maxBackends = 0;
    const sample = async () => {
      const b = await direct.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
        [dbName],
      );
      maxBackends = Math.max(maxBackends, b.rows[0].n);
    };
    const sampler = setInterval(() => void sample().catch(() => {}), 50);
    onDone.push(() => clearInterval(sampler));

    // 60 sessions, 12 at a time, through both pods: many concurrent transactions.
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        while (next < 60) {
          const i = next++;
          const r = await (apis[i % apis.length] as Client<typeof SessionService>).createSession({
            template: "demo-desktop",
          });
          ids.push(r.session?.id ?? "");
        }
      }),
    );
    assert.equal(ids.length, 60);
    await eventually(
      async () => {
        const db = new pg.Client({
          connectionString: postgres.url.replace(/\/[^/]*$/, `/${dbName}`),
        });
        await db.connect();
        try {
          const r = await db.query("SELECT state, count(*)::int AS n FROM sessions GROUP BY state");
          assert.deepEqual(r.rows, [{ state: "running", n: 60 }]);
          const c = await db.query(
            "SELECT count(*)::int AS n FROM agent_commands WHERE status <> 'completed'",
          );
          assert.equal(c.rows[0].n, 0);
        } finally {
          await db.end();
        }
      },
      { timeoutMs: 60_000 },
    );
    const executed = new Map<string, number>();
    for (const a of agents)
      for (const [id, n] of a.executed) executed.set(id, (executed.get(id) ?? 0) + n);
    assert.ok(executed.size >= 60, `${executed.size} commands ran`);
    for (const [id, n] of executed) assert.equal(n, 1, `command ${id} ran ${n} times`);
    // Two pods with pools of 20 each, yet Postgres served them over the bouncer's pool. PgBouncer
    // replaces a server connection it drops (a pod closing mid-query) before Postgres has reaped
    // the old backend, so one sample may count a replacement twice: bounded by twice the pool,
    // far below the pods' 40 direct connections.
    assert.ok(maxBackends <= 2 * POOL_SIZE, `${maxBackends} server connections to ${dbName}`);
    assert.ok(maxBackends >= 1);
  } catch (err) {
    console.error(`pgbouncer log:\n${bouncerLog}`);
    throw err;
  } finally {
    for (const f of onDone) f();
    await Promise.all(agents.map((a) => a.stop()));
    for (const m of managers) m.abort();
    await direct.end();
    bouncer.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
});
