/**
 * Session start end to end (DESIGN.md §9: local driver, API → running, p95 < 300 ms): a real
 * control-plane process on a throwaway real Postgres and a real local agent process; sessions
 * are created over the public gRPC API and timed from the CreateSession call until
 * WatchSessions reports RUNNING (no polling). Sequential starts, then concurrent rounds, for
 * the built-in demo server and for Xvfb + x11vnc + xterm; each session is stopped after.
 *
 *   node --import tsx bench/sessions/session-start.ts [--runs 30] [--concurrent 4] [--rounds 5]
 *        [--templates demo-desktop,xterm-desktop] [--agent-root <dir>]
 *
 * The template "bench-xvfb-sleep" (created here: Xvfb + x11vnc running `sleep`) separates the
 * X stack's cost from the program's: pass it in --templates.
 *
 * --agent-root runs the agent from another checkout (a copy of agents/ at an older commit, with
 * node_modules linked), so a before/after comparison runs on the same machine in one sitting.
 *
 * Breakdown per start, all on this machine's wall clock:
 *   accepted  = CreateSession call → response (API, scheduling, outbox row committed);
 *   delivered = response → the agent has the command (outbox claim, stream; agent debug log);
 *   driver    = agent receives the command → driver reports the VNC port (agent debug log);
 *   reported  = driver done → WatchSessions delivers RUNNING, split by the running event's
 *               row time in Postgres (now() = start of the result transaction) into
 *     to tx     = result over the stream and the gateway's read loop until its transaction starts,
 *     tx → watch = the result transaction, change bus and watch stream.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { Platform, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import pg from "pg";
import { freePort, startPostgres, waitForPort } from "../../scripts/services.ts";
import { createBenchDatabase } from "../bench-database.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const RUNS = Number(arg("runs", "30"));
const CONCURRENT = Number(arg("concurrent", "4"));
const ROUNDS = Number(arg("rounds", "5"));
const WARMUP = Number(arg("warmup", "2"));
const TEMPLATES = arg("templates", "demo-desktop,xterm-desktop").split(",");
const ROOT = new URL("../..", import.meta.url).pathname;
const AGENT_MAIN = join(arg("agent-root", ROOT), "agents/src/main.ts");
const BOOTSTRAP = "bench-bootstrap-token";
const PASSWORD = "bench-admin-password";

/** Wall-clock milliseconds with sub-millisecond resolution (comparable across processes). */
const wall = () => performance.timeOrigin + performance.now();

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}
const fmt = (xs: number[]) =>
  xs.length === 0
    ? "-"
    : `${pct(xs, 50).toFixed(0)} / ${pct(xs, 95).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;

function child(script: string, env: Record<string, string>, onLine?: (l: string) => void) {
  const c: ChildProcess = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", onLine ? "pipe" : "inherit"],
  });
  let buf = "";
  c.stderr?.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i !== -1; i = buf.indexOf("\n")) {
      onLine?.(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return c;
}

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(c: ChildProcess | undefined) {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  c.kill("SIGTERM");
  const t = setTimeout(() => c.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(t);
}

/** What the agent's debug log says about one start command. */
interface AgentTimes {
  receivedAtMs: number;
  finishedAtMs: number;
  success: boolean;
}

const pgService = await startPostgres();
const dataDir = mkdtempSync(join(tmpdir(), "ss-start-e2e-"));
let cp: ChildProcess | undefined;
let agent: ChildProcess | undefined;
const watchAbort = new AbortController();
try {
  const dbUrl = await createBenchDatabase(pgService.url, "bench");

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  cp = child("control-plane/src/main.ts", {
    DATABASE_URL: dbUrl,
    REDIS_URL: "",
    PORT: String(port),
    HOST: "127.0.0.1",
    POD_NAME: "bench-pod",
    LOG_LEVEL: "warn",
    ADMIN_PASSWORD: PASSWORD,
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123",
    DATA_DIR: join(dataDir, "cp"),
    AGENT_BOOTSTRAP_TOKEN: BOOTSTRAP,
    AGENT_AUTO_APPROVE: "true",
  });
  await waitForPort(port, 60_000);

  const agentTimes = new Map<string, AgentTimes>();
  agent = child(
    AGENT_MAIN,
    {
      AGENT_ID: "bench-agent",
      CONTROL_PLANE_URL: url,
      PLATFORM: "local",
      REGION: "local",
      MAX_SESSIONS: "64",
      AGENT_DATA_DIR: join(dataDir, "agent"),
      AGENT_BOOTSTRAP_TOKEN: BOOTSTRAP,
      AGENT_HEALTH_PORT: "0",
      AGENT_HEALTH_HOST: "127.0.0.1",
      AGENT_STOP_SESSIONS_ON_EXIT: "true",
      LOG_LEVEL: "debug",
    },
    (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line);
      } catch {
        process.stderr.write(`agent: ${line}\n`);
        return;
      }
      if (rec.msg === "command finished" && rec.action === "startSession") {
        agentTimes.set(String(rec.sessionId), rec as unknown as AgentTimes);
      } else if (rec.level === "warn" || rec.level === "error") {
        process.stderr.write(`agent: ${line}\n`);
      }
    },
  );
  await until("agent connected", 60_000, async () => {
    const h = (await (await fetch(`${url}/health`)).json()) as { agents?: { connected?: number } };
    return (h.agents?.connected ?? 0) >= 1;
  });

  const transport = createGrpcTransport({ baseUrl: url });
  const login = await createClient(AuthService, transport).login({
    username: "admin",
    password: PASSWORD,
  });
  const headers = { authorization: `Bearer ${login.tokens?.accessToken}` };
  const sessions = createClient(SessionService, transport);
  await createClient(TemplateService, transport).createTemplate(
    {
      template: {
        name: "bench-xvfb-sleep",
        displayName: "Xvfb + x11vnc, no program",
        image: "xvfb",
        command: ["sleep", "3600"],
        platform: Platform.LOCAL,
      },
    },
    { headers },
  );

  // One watch for everything; waiters are keyed by session id. An event may in principle beat
  // the CreateSession response, so states seen early are kept.
  const seen = new Map<string, { state: SessionState; at: number; reason: string }>();
  const waiters = new Map<string, { want: SessionState; done: (at: number) => void }>();
  void (async () => {
    const stream = sessions.watchSessions({}, { headers, signal: watchAbort.signal });
    for await (const ev of stream) {
      const s = ev.session;
      if (!s) continue;
      const at = wall();
      seen.set(s.id, { state: s.state, at, reason: s.stateReason });
      const w = waiters.get(s.id);
      if (w && (s.state === w.want || s.state === SessionState.FAILED)) {
        waiters.delete(s.id);
        w.done(s.state === SessionState.FAILED ? Number.NaN : at);
      }
    }
  })().catch((err) => {
    if (!watchAbort.signal.aborted) console.error("watch ended:", err);
  });
  await new Promise((r) => setTimeout(r, 200));

  const reach = (id: string, want: SessionState, ms: number) =>
    new Promise<number>((resolve, reject) => {
      const s = seen.get(id);
      if (s && (s.state === want || s.state === SessionState.FAILED)) {
        if (s.state === SessionState.FAILED) reject(new Error(`session ${id} failed: ${s.reason}`));
        else resolve(s.at);
        return;
      }
      const t = setTimeout(() => reject(new Error(`${id} not ${SessionState[want]} in time`)), ms);
      waiters.set(id, {
        want,
        done: (at) => {
          clearTimeout(t);
          if (Number.isNaN(at)) reject(new Error(`session ${id} failed: ${seen.get(id)?.reason}`));
          else resolve(at);
        },
      });
    });

  interface Sample {
    id: string;
    total: number;
    accepted: number;
    delivered: number;
    driver: number;
    reported: number;
    toTx: number;
    txToWatch: number;
  }
  const startOne = async (template: string): Promise<{ id: string; sample?: Sample }> => {
    const t0 = wall();
    const res = await sessions.createSession({ template }, { headers });
    const t1 = wall();
    const id = res.session?.id ?? "";
    const running = await reach(id, SessionState.RUNNING, 30_000);
    const a = agentTimes.get(id);
    const sample = a
      ? {
          id,
          toTx: Number.NaN,
          txToWatch: running,
          total: running - t0,
          accepted: t1 - t0,
          delivered: a.receivedAtMs - t1,
          driver: a.finishedAtMs - a.receivedAtMs,
          reported: running - a.finishedAtMs,
        }
      : undefined;
    return { id, sample };
  };
  const stopAll = async (ids: string[]) => {
    await Promise.all(
      ids.map(async (id) => {
        const stopped = reach(id, SessionState.STOPPED, 30_000);
        await sessions.stopSession({ id }, { headers });
        await stopped;
      }),
    );
  };

  /** Fills toTx / txToWatch from the running event rows (txToWatch holds the watch time till then). */
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  const splitReported = async (xs: Sample[]) => {
    const r = await db.query<{ session_id: string; ms: string }>(
      `SELECT session_id, (extract(epoch FROM created_at) * 1000)::text AS ms FROM session_events
       WHERE to_state = 'running' AND session_id = ANY($1::uuid[])`,
      [xs.map((x) => x.id)],
    );
    const at = new Map(r.rows.map((row) => [row.session_id, Number(row.ms)]));
    for (const x of xs) {
      const tx = at.get(x.id) ?? Number.NaN;
      const a = agentTimes.get(x.id);
      x.toTx = tx - (a?.finishedAtMs ?? Number.NaN);
      x.txToWatch = x.txToWatch - tx;
    }
  };

  const rows: string[] = [];
  const firstStarts: string[] = [];
  const loads: string[] = [];
  for (const template of TEMPLATES) {
    // The first start of a kind may pay one-off costs (bundling, page cache); shown apart.
    const warm: number[] = [];
    for (let i = 0; i < WARMUP; i++) {
      const { id, sample } = await startOne(template);
      if (sample) warm.push(sample.total);
      await stopAll([id]);
    }
    firstStarts.push(`${template} ${warm.map((x) => x.toFixed(0)).join(", ")} ms`);
    loads.push(`${template} start ${loadavg()[0]?.toFixed(2)}`);
    const seq: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { id, sample } = await startOne(template);
      if (sample) seq.push(sample);
      await stopAll([id]);
    }
    const conc: Sample[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const got = await Promise.all(Array.from({ length: CONCURRENT }, () => startOne(template)));
      for (const g of got) if (g.sample) conc.push(g.sample);
      await stopAll(got.map((g) => g.id));
    }
    loads.push(`${template} end ${loadavg()[0]?.toFixed(2)}`);
    await splitReported([...seq, ...conc]);
    for (const [mode, xs] of [
      [`sequential x${seq.length}`, seq],
      [`${CONCURRENT} at once x${ROUNDS}`, conc],
    ] as const) {
      const col = (k: Exclude<keyof Sample, "id">) => fmt(xs.map((s) => s[k]));
      rows.push(
        `| ${template} | ${mode} | ${col("total")} | ${col("accepted")} | ${col("delivered")} | ${col("driver")} | ${col("reported")} | ${col("toTx")} | ${col("txToWatch")} |`,
      );
    }
  }
  console.log("\nms, p50 / p95 / max\n");
  console.log(
    "| template | mode | API → running | accepted | delivered | driver | reported | (to tx | tx → watch) |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  console.log(`\nwarm-up starts (not in the table): ${firstStarts.join("; ")}`);
  console.log(`load average (1 min): ${loads.join(", ")}`);
  await db.end();
} finally {
  watchAbort.abort();
  await stopChild(agent);
  await stopChild(cp);
  await pgService.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
