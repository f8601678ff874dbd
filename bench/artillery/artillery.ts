/**
 * The browser's paths under Artillery (MPL-2.0; 2.0.21 is the newest whose engines accept
 * Node 20, pinned with its lockfile in tool/ and installed into the tool cache outside the
 * repository, so its ~1,000 packages stay out of `npm ci`):
 *
 * 1. the tRPC read path (sessions.list first page, sessions.get; 3:1) at a fixed arrival rate
 *    against the HAProxy API front, 100,000 sessions stored;
 * 2. viewers against the HAProxy-fronted relay cluster: each one gets a viewer token over tRPC,
 *    opens /vnc/{id}?token=… and reads RFB frames (rfb-viewer.cjs) from real demo desktops run
 *    by a real local agent.
 *
 * The cluster is deploy/local/cluster.ts (real Postgres and Redis, N control planes, M relays,
 * HAProxy). In the same run the repository's Node harnesses measure the same operations:
 * bench/control-plane/control-plane-bench.ts (ListSessions, gRPC, one pod) and bench/relay/run.ts
 * (viewers through the relay, the shared relaybench client).
 *
 *   npm run bench -- artillery [--pods 3] [--relays 3] [--rows 100000] [--rate 200]
 *     [--seconds 15] [--sessions 10] [--viewers 100] [--ramp 10] [--hold 10] [--no-node-harness]
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { DATA_PATH_NODE_FLAGS } from "@streamspace/common/node-flags";
import { startLocalCluster } from "../../deploy/local/cluster.ts";
import { freePort } from "../../scripts/services.ts";
import { accessToken, connectJson, loadLine, ms, ROOT, seedSessions } from "../api-fixtures.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const PODS = arg("pods", 3);
const RELAYS = arg("relays", 3);
const ROWS = arg("rows", 100_000);
const RATE = arg("rate", 200);
const SECONDS = arg("seconds", 15);
const SESSIONS = arg("sessions", 10);
const VIEWERS = arg("viewers", 100);
const RAMP = arg("ramp", 10);
const HOLD = arg("hold", 10);
const NODE_HARNESS = !process.argv.includes("--no-node-harness");
const HERE = join(ROOT, "bench/artillery");

/** Installs the pinned Artillery once per lockfile into the tool cache; returns its binary. */
function artilleryBin(): string {
  const lock = readFileSync(join(HERE, "tool/package-lock.json"));
  const cache =
    process.env.STREAMSPACE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "streamspace");
  const dir = join(
    cache,
    "artillery",
    createHash("sha256").update(lock).digest("hex").slice(0, 12),
  );
  const bin = join(dir, "node_modules/.bin/artillery");
  if (!existsSync(join(dir, ".complete"))) {
    console.error(`installing Artillery into ${dir} (first run only)`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(HERE, "tool/package.json"), join(dir, "package.json"));
    copyFileSync(join(HERE, "tool/package-lock.json"), join(dir, "package-lock.json"));
    // --ignore-scripts: the Playwright engine's browser download is neither needed nor reachable.
    const r = spawnSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: dir,
      stdio: "inherit",
      env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" },
    });
    if (r.status !== 0) throw new Error("npm ci of Artillery failed (see above)");
    writeFileSync(join(dir, ".complete"), "");
  }
  return bin;
}

type Summary = {
  min: number;
  max: number;
  count: number;
  median: number;
  p95: number;
  p99: number;
};
interface Report {
  aggregate: { counters: Record<string, number>; summaries: Record<string, Summary> };
}

/** Renders a scenario file with concrete values and runs it; returns Artillery's JSON report. */
function runArtillery(bin: string, scenario: string, env: Record<string, string>): Report {
  const work = mkdtempSync(join(tmpdir(), "ss-artillery-"));
  try {
    let text = readFileSync(join(HERE, scenario), "utf8");
    text = text.replace(/"\{\{ \$processEnvironment\.(\w+) \}\}"/g, (_, k: string) => {
      const v = env[k] ?? "";
      return /^\d+$/.test(v) ? v : JSON.stringify(v);
    });
    text = text.replace('"./rfb-viewer.cjs"', JSON.stringify(join(HERE, "rfb-viewer.cjs")));
    const file = join(work, scenario);
    writeFileSync(file, text);
    const out = join(work, "report.json");
    const r = spawnSync(bin, ["run", "--quiet", "--output", out, file], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, ...env, ARTILLERY_DISABLE_TELEMETRY: "true" },
    });
    if (r.status !== 0) throw new Error(`artillery ${scenario} failed (exit ${r.status})`);
    return JSON.parse(readFileSync(out, "utf8")) as Report;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function startAgent(
  apiUrl: string,
  bootstrap: string,
  dataDir: string,
  healthPort: number,
): ChildProcess {
  return spawn(
    process.execPath,
    [...DATA_PATH_NODE_FLAGS, "--import", "tsx", "agents/src/main.ts"],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        AGENT_ID: "bench-viewers",
        CONTROL_PLANE_URL: apiUrl,
        PLATFORM: "local",
        REGION: "local",
        MAX_SESSIONS: String(SESSIONS + 2),
        AGENT_DATA_DIR: dataDir,
        AGENT_BOOTSTRAP_TOKEN: bootstrap,
        AGENT_HEALTH_PORT: String(healthPort),
        AGENT_STOP_SESSIONS_ON_EXIT: "true",
        LOG_LEVEL: "warn",
      },
    },
  );
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type SessionJson = { session: { id: string; state: string } };

const bin = artilleryBin();
const bootstrap = randomBytes(12).toString("base64url");
const agentDir = mkdtempSync(join(tmpdir(), "ss-bench-agent-"));
const cluster = await startLocalCluster({
  controlPlanes: PODS,
  relays: RELAYS,
  env: { LOG_LEVEL: "warn", AGENT_BOOTSTRAP_TOKEN: bootstrap, AGENT_AUTO_APPROVE: "true" },
});
let agent: ChildProcess | undefined;
const out: string[] = [];
try {
  const api = cluster.apiUrl!;
  const token = await accessToken(api, "admin", "admin-password-local");
  const call = <T>(method: string, body: unknown) => connectJson<T>(api, method, body, token);
  agent = startAgent(api, bootstrap, agentDir, await freePort());
  await until("the agent online", async () => {
    const r = await call<{ agents?: Array<{ id: string; state: string }> }>(
      "streamspace.v1.AgentService/ListAgents",
      {},
    );
    return (
      r.agents?.some((a) => a.id === "bench-viewers" && a.state === "AGENT_STATE_ONLINE") ||
      undefined
    );
  });
  // Desktops first, then the 100,000 seeded rows (whose agent must not win the scheduling).
  const ids: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const r = await call<SessionJson>("streamspace.v1.SessionService/CreateSession", {
      template: "demo-desktop",
    });
    ids.push(r.session.id);
  }
  for (const id of ids) {
    await until(`session ${id} running`, async () => {
      const r = await call<SessionJson>("streamspace.v1.SessionService/GetSession", { id });
      return r.session.state === "SESSION_STATE_RUNNING" || undefined;
    });
  }
  const seeded = await seedSessions(cluster.databaseUrl, ROWS);

  const readLoad = loadLine();
  const read = runArtillery(bin, "trpc-read.yml", {
    SS_API: api,
    SS_TOKEN: token,
    SS_RATE: String(RATE),
    SS_SECONDS: String(SECONDS),
    SS_SESSION_ID: seeded,
  });
  const viewLoad = loadLine();
  const view = runArtillery(bin, "viewers.yml", {
    SS_VNC: cluster.relayFrontUrl.replace(/^http/, "ws"),
    SS_API: api,
    SS_TOKEN: token,
    SS_SESSIONS: ids.join(","),
    SS_VIEWERS: String(VIEWERS),
    SS_RAMP_S: String(RAMP),
    SS_HOLD_S: String(HOLD),
  });
  out.push(...readTable(read, readLoad), "", ...viewerTable(view, viewLoad));
  // What the relays saw of the same viewers (accepted, spliced, closed by code, forwarded).
  for (const r of cluster.relays) {
    const text = await fetch(`${r.url}/metrics`).then((x) => x.text(), String);
    const keep = text
      .split("\n")
      .filter((l) => /^streamspace_vnc_(connections|closes|forwarded|data_channels|direct)/.test(l))
      .map((l) => l.replace(/\{relay="[^"]*",?/, "{"));
    out.push(`relay ${r.id}: ${keep.join("; ")}`);
  }
} finally {
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent?.once("exit", r));
    agent.kill("SIGTERM");
    await exited;
  }
  await cluster.stop();
  rmSync(agentDir, { recursive: true, force: true });
}
if (NODE_HARNESS) out.push("", ...nodeHarnesses());
console.log(out.join("\n"));

function counter(r: Report, name: string): number {
  return r.aggregate.counters[name] ?? 0;
}

function errorsOf(r: Report): string {
  const e = Object.entries(r.aggregate.counters).filter(([k]) => k.startsWith("errors."));
  return e.length ? e.map(([k, v]) => `${k.slice(7)} ${v}`).join(", ") : "0";
}

/** rfb-viewer.cjs notes: relay closes by code, late viewers by desktop, when the queue attached. */
function closesOf(r: Report): string {
  const e = Object.entries(r.aggregate.counters).filter(
    ([k]) =>
      k.startsWith("viewer.closed_") ||
      k.startsWith("viewer.late.") ||
      k.startsWith("viewer.queue_"),
  );
  return e.length ? e.map(([k, v]) => `${k.slice(7)} ${v}`).join(", ") : "none";
}

function readTable(r: Report, load: string): string[] {
  const s = (name: string) =>
    r.aggregate.summaries[`plugins.metrics-by-endpoint.response_time.${name}`] ??
    (name === "all" ? r.aggregate.summaries["http.response_time"] : undefined);
  const line = (label: string, x: Summary | undefined) =>
    `| ${label} | ${x?.count ?? 0} | ${ms(x?.median)} | ${ms(x?.p95)} | ${ms(x?.p99)} | ${ms(x?.max)} |`;
  return [
    `Artillery 2.0.21, tRPC read path over ${PODS} control planes behind HAProxy, ${ROWS.toLocaleString("en")} sessions stored, ${RATE} req/s for ${SECONDS} s (${load}); 200s ${counter(r, "http.codes.200")}, errors ${errorsOf(r)}`,
    "",
    "| request | n | p50 ms | p95 ms | p99 ms | max ms |",
    "|---|---|---|---|---|---|",
    line("sessions.list (first page of 50)", s("sessions.list")),
    line("sessions.get", s("sessions.get")),
    line("all", r.aggregate.summaries["http.response_time"]),
  ];
}

function viewerTable(r: Report, load: string): string[] {
  const s = (n: string) => r.aggregate.summaries[n];
  const line = (label: string, x: Summary | undefined) =>
    `| ${label} | ${ms(x?.median)} | ${ms(x?.p95)} | ${ms(x?.p99)} | ${ms(x?.max)} |`;
  const mb = counter(r, "viewer.bytes") / 1e6;
  return [
    `Artillery 2.0.21, ${VIEWERS} viewers over ${RAMP} s on ${SESSIONS} demo desktops, ${HOLD} s each, ${RELAYS} relays behind HAProxy (${load}): completed ${counter(r, "viewer.completed")}/${VIEWERS}, failed ${counter(r, "vusers.failed")}, errors ${errorsOf(r)}, viewer notes ${closesOf(r)}, ${counter(r, "viewer.frames")} frames, ${mb.toFixed(1)} MB`,
    "",
    "| per viewer | p50 | p95 | p99 | max |",
    "|---|---|---|---|---|",
    line("viewer token (tRPC) ms", s("viewer.token_ms")),
    line("open → first full frame ms", s("viewer.first_frame_ms")),
    line("frames per second", s("viewer.fps")),
  ];
}

/** The repository's own harnesses for the same operations, run now (same machine state). */
function nodeHarnesses(): string[] {
  const lines: string[] = [];
  const load = loadLine();
  const cp = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/control-plane/control-plane-bench.ts",
      "--rows",
      String(ROWS),
      "--rate",
      "200",
      "--seconds",
      "5",
      "--list-calls",
      "2000",
    ],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 16 << 20 },
  );
  if (cp.status === 0) {
    const j = JSON.parse(cp.stdout.slice(cp.stdout.indexOf("{")));
    const f = j.listSessions.first;
    lines.push(
      `Node harness, same run (${load}): ListSessions first page over gRPC, one pod, one sequential client (bench/control-plane/control-plane-bench.ts): p50 ${ms(f.p50)} / p95 ${ms(f.p95)} / p99 ${ms(f.p99)} ms (n ${f.n}).`,
    );
  } else lines.push("Node harness (control-plane-bench) failed; see its output above.");
  const harness = process.env.RELAYBENCH_DIR ?? "/work/shared/bench/relaybench";
  if (!existsSync(harness)) {
    lines.push(`Relay Node harness not run: the shared relaybench client is not at ${harness}.`);
    return lines;
  }
  const dir = mkdtempSync(join(tmpdir(), "ss-relaybench-"));
  try {
    const rl = loadLine();
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/relay/run.ts",
        "--relays",
        "streamspace",
        "--n",
        String(VIEWERS),
        "--reps",
        "1",
        "--out",
        dir,
      ],
      { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
    );
    const file = join(dir, `streamspace-n${VIEWERS}-r1.json`);
    if (r.status === 0 && existsSync(file)) {
      const j = JSON.parse(readFileSync(file, "utf8")).result;
      lines.push(
        `Relay Node harness, same run (${rl}): ${VIEWERS} viewers through one relay (bench/relay/run.ts, relaybench client, scripted VNC): open p50 ${ms(j.setup.open_ms.p50)} / p99 ${ms(j.setup.open_ms.p99)} ms, greeting p50 ${ms(j.setup.greeting_ms.p50)} / p99 ${ms(j.setup.greeting_ms.p99)} ms, ${j.ok_conns}/${VIEWERS} connected, RTT p50 ${ms(j.latency_ms.p50)} / p99 ${ms(j.latency_ms.p99)} ms.`,
      );
    } else lines.push("Relay Node harness failed; see its output above.");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
