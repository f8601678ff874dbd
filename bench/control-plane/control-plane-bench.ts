/**
 * Control-plane API latency (DESIGN.md §9): ListSessions with 100,000 sessions stored and
 * CreateSession at a steady request rate, over real gRPC (HTTP/2, connect-node) against a real
 * control-plane process (control-plane/src/main.ts) on a throwaway real Postgres.
 *
 *   node --import tsx bench/control-plane/control-plane-bench.ts [--rows 100000] [--rate 200] [--seconds 20]
 *
 * CreateSession runs open-loop: request i is due at start + i/rate and its latency counts from
 * that due time, so a stall shows up in the percentiles instead of silently slowing the sender.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import pg from "pg";
import { freePort, startPostgres, waitForPort } from "../../scripts/services.ts";
import { createBenchDatabase } from "../bench-database.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ROWS = arg("rows", 100_000);
const RATE = arg("rate", 200);
const SECONDS = arg("seconds", 20);
const LIST_CALLS = arg("list-calls", 2000);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}
const summary = (xs: number[]) => ({
  n: xs.length,
  p50: +pct(xs, 50).toFixed(2),
  p95: +pct(xs, 95).toFixed(2),
  p99: +pct(xs, 99).toFixed(2),
  max: +Math.max(...xs).toFixed(2),
});

/** BENCH_CP_PROF=<dir> writes a CPU profile of the control plane there (to find hot spots). */
function profileArgs(): string[] {
  const dir = process.env.BENCH_CP_PROF;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

async function startControlPlane(databaseUrl: string, dataDir: string) {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [...profileArgs(), "--import", "tsx", "control-plane/src/main.ts"],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        REDIS_URL: "",
        PORT: String(port),
        HOST: "127.0.0.1",
        POD_NAME: "bench-pod",
        LOG_LEVEL: "warn",
        ADMIN_PASSWORD: "bench-admin-password",
        JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123",
        DATA_DIR: dataDir,
        // One admin token drives the whole load: measure the pod, not the per-user limit.
        RATE_LIMIT_USER_RPS: "0",
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  await waitForPort(port, 60_000);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${url}/ready`).catch(() => undefined);
    if (r?.ok) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { url, child };
}

async function seed(databaseUrl: string, rows: number) {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    // An agent that never looks silent to the gateway's sweep, with room for every create.
    await c.query(`INSERT INTO agents (id, platform, region, state, max_sessions, last_heartbeat_at, pod)
      VALUES ('bench-agent', 'local', '', 'online', 1000000, now() + interval '1 day', 'elsewhere')`);
    const t = await c.query<{ id: string }>("SELECT id FROM templates WHERE name = 'demo-desktop'");
    const templateId = t.rows[0]?.id;
    const started = performance.now();
    await c.query(
      `INSERT INTO sessions (id, owner_id, template_id, agent_id, state, version, display_name, holds_capacity, create_time, update_time)
       SELECT gen_random_uuid(), 'bench-user-' || (i % 1000), $1, 'bench-agent',
              (ARRAY['running','running','running','hibernated','stopped','failed'])[1 + i % 6],
              1, 'bench ' || i, false,
              now() - (i || ' seconds')::interval, now()
       FROM generate_series(1, $2) AS i`,
      [templateId, rows],
    );
    await c.query("ANALYZE sessions");
    return performance.now() - started;
  } finally {
    await c.end();
  }
}

const pgService = await startPostgres();
const dataDir = mkdtempSync(join(tmpdir(), "ss-cp-bench-"));
let cp: { url: string; child: ChildProcess } | undefined;
try {
  const dbUrl = await createBenchDatabase(pgService.url, "bench");
  cp = await startControlPlane(dbUrl, dataDir);
  const seedMs = await seed(dbUrl, ROWS);

  const transport = createGrpcTransport({ baseUrl: cp.url });
  const auth = createClient(AuthService, transport);
  const login = await auth.login({ username: "admin", password: "bench-admin-password" });
  const headers = { authorization: `Bearer ${login.tokens?.accessToken}` };
  const sessions = createClient(SessionService, transport);

  // ListSessions: warm up, then a mix a UI and operators produce (first pages, deep pages,
  // one owner, one state), sequentially so each figure is one request's latency.
  for (let i = 0; i < 100; i++) await sessions.listSessions({ pageSize: 50 }, { headers });
  const kinds = {
    first: [] as number[],
    next: [] as number[],
    owner: [] as number[],
    state: [] as number[],
  };
  let token = "";
  for (let i = 0; i < LIST_CALLS; i++) {
    const kind = (["first", "next", "owner", "state"] as const)[i % 4] ?? "first";
    const req =
      kind === "first"
        ? { pageSize: 50 }
        : kind === "next"
          ? { pageSize: 50, pageToken: token }
          : kind === "owner"
            ? { pageSize: 50, ownerId: `bench-user-${i % 1000}` }
            : { pageSize: 50, states: [SessionState.HIBERNATED] };
    const t0 = performance.now();
    const res = await sessions.listSessions(req, { headers });
    kinds[kind].push(performance.now() - t0);
    if (kind === "next" || kind === "first") token = res.nextPageToken;
  }
  const listAll = Object.values(kinds).flat();

  // CreateSession: open loop at RATE for SECONDS.
  const total = RATE * SECONDS;
  const createLat: number[] = [];
  let errors = 0;
  const start = performance.now() + 50;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      sessions
        .createSession({ template: "demo-desktop" }, { headers })
        .then(() => void createLat.push(performance.now() - due))
        .catch(() => void errors++),
    );
  }
  await Promise.all(inflight);
  const wallS = (performance.now() - start) / 1000;

  const result = {
    rowsStored: ROWS,
    seedMs: Math.round(seedMs),
    listSessions: {
      all: summary(listAll),
      ...Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, summary(v)])),
    },
    createSession: {
      rate: RATE,
      seconds: SECONDS,
      achievedRate: +(createLat.length / wallS).toFixed(1),
      errors,
      ...summary(createLat),
    },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  if (cp) {
    const exited = new Promise((r) => cp?.child.once("exit", r));
    cp.child.kill("SIGTERM");
    await exited;
  }
  await pgService.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
