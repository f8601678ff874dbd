/**
 * The public gRPC API under ghz (bojand/ghz, pinned in sdk/scripts/tools.sh and installed with
 * `go install` into the tool cache): CreateSession, GetSession and ListSessions with 100,000
 * sessions stored, each at a fixed request rate, against 1 and then 3 control-plane processes
 * behind HAProxy (deploy/local/cluster.ts: real Postgres and Redis, L4 round robin). In the same
 * run, the repository's own Node harness (bench/control-plane/control-plane-bench.ts) measures
 * ListSessions and CreateSession on one pod, so the two generators can be compared side by side.
 *
 *   npm run bench -- ghz [--rows 100000] [--seconds 10] [--pods 1,3]
 *                        [--list-rate 200] [--get-rate 500] [--create-rates 200,1000]
 *                        [--no-node-harness]
 *
 * ghz paces rate × seconds requests at --rps with at least 50 workers over 3 HTTP/2 connections
 * (one per pod with 3 pods); latency counts from each request's send, so a saturated server
 * shows as a shortfall in achieved rate (answers per second of wall time) as well as in the
 * percentiles.
 */
import { spawnSync } from "node:child_process";
import { startLocalCluster } from "../../deploy/local/cluster.ts";
import { accessToken, goTool, loadLine, ms, ROOT, seedSessions } from "../api-fixtures.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const ROWS = Number(arg("rows", "100000"));
const SECONDS = Number(arg("seconds", "10"));
const PODS = arg("pods", "1,3").split(",").map(Number);
const LIST_RATE = Number(arg("list-rate", "200"));
const GET_RATE = Number(arg("get-rate", "500"));
const CREATE_RATES = arg("create-rates", "200,1000").split(",").map(Number);
const NODE_HARNESS = !process.argv.includes("--no-node-harness");

/** The seeds' published figures for the same operations (StreamSpace, 3 pods). */
const SEED_P95: Record<string, string> = {
  ListSessions: "45 ms (GET /sessions)",
  GetSession: "—",
  CreateSession: "180 ms (POST /sessions)",
};

interface GhzReport {
  count: number;
  /** Nanoseconds from the first request to the last answer. */
  total: number;
  rps: number;
  average: number;
  latencyDistribution: Array<{ percentage: number; latency: number }> | null;
  statusCodeDistribution: Record<string, number>;
  errorDistribution?: Record<string, number>;
}

interface Row {
  op: string;
  pods: number;
  rate: number;
  achieved: number;
  n: number;
  p50?: number;
  p95?: number;
  p99?: number;
  errors: number;
  /** The most frequent error, e.g. "rpc error: code = Unavailable desc = …" (count). */
  topError?: string;
  load: string;
}

function runGhz(
  ghz: string,
  target: string,
  call: string,
  data: unknown,
  rate: number,
  token: string,
): GhzReport {
  const r = spawnSync(
    ghz,
    [
      "--insecure",
      "--call",
      `streamspace.v1.SessionService/${call}`,
      "-d",
      JSON.stringify(data),
      "--metadata",
      JSON.stringify({ authorization: `Bearer ${token}` }),
      "--rps",
      String(rate),
      // A count, not a duration: ghz cuts the requests in flight when a duration ends and
      // reports them as errors; a count lets the last ones finish.
      "-n",
      String(rate * SECONDS),
      // Enough workers that the pacer never waits for a free one (rate × a slow 250 ms).
      "-c",
      String(Math.max(50, Math.ceil(rate / 4))),
      "--connections",
      "3",
      "--timeout",
      "10s",
      "--format",
      "json",
      target,
    ],
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
  if (r.status !== 0 && !r.stdout) throw new Error(`ghz failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as GhzReport;
}

function row(op: string, pods: number, rate: number, rep: GhzReport, load: string): Row {
  const at = (p: number) => {
    const v = rep.latencyDistribution?.find((d) => d.percentage === p)?.latency;
    return v === undefined ? undefined : v / 1e6;
  };
  const ok = rep.statusCodeDistribution.OK ?? 0;
  return {
    op,
    pods,
    rate,
    achieved: +(ok / (rep.total / 1e9)).toFixed(1),
    n: rep.count,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    errors: rep.count - ok,
    topError: Object.entries(rep.errorDistribution ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([e, n]) => `${e.slice(0, 120)} (${n})`)[0],
    load,
  };
}

async function measurePods(ghz: string, pods: number): Promise<Row[]> {
  const cluster = await startLocalCluster({
    controlPlanes: pods,
    relays: 1,
    env: { LOG_LEVEL: "warn" },
  });
  try {
    const api = cluster.apiUrl!;
    const sessionId = await seedSessions(cluster.databaseUrl, ROWS);
    const token = await accessToken(api, "admin", "admin-password-local");
    const target = api.replace(/^http:\/\//, "");
    const rows: Row[] = [];
    // Warm every pod's connection pool and plans before measuring.
    runGhz(ghz, target, "ListSessions", { page_size: 50 }, 50, token);
    const measure = (op: string, data: unknown, rate: number) => {
      const load = loadLine();
      rows.push(row(op, pods, rate, runGhz(ghz, target, op, data, rate, token), load));
      console.error(JSON.stringify(rows.at(-1)));
    };
    measure("ListSessions", { page_size: 50 }, LIST_RATE);
    measure("GetSession", { id: sessionId }, GET_RATE);
    for (const rate of CREATE_RATES) measure("CreateSession", { template: "demo-desktop" }, rate);
    return rows;
  } finally {
    await cluster.stop();
  }
}

interface NodeHarness {
  listSessions: { all: { p50: number; p95: number; p99: number } };
  createSession: {
    rate: number;
    achievedRate: number;
    errors: number;
    p50: number;
    p95: number;
    p99: number;
  };
}

function runNodeHarness(rate: number): NodeHarness {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/control-plane/control-plane-bench.ts",
      "--rows",
      String(ROWS),
      "--rate",
      String(rate),
      "--seconds",
      String(SECONDS),
      "--list-calls",
      "2000",
    ],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 16 << 20 },
  );
  if (r.status !== 0) throw new Error("the Node harness failed (see above)");
  return JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as NodeHarness;
}

const ghz = goTool("GHZ_TOOL");
const started = new Date().toISOString();
const rows: Row[] = [];
for (const pods of PODS) rows.push(...(await measurePods(ghz, pods)));
let node: NodeHarness | undefined;
let nodeLoad = "";
if (NODE_HARNESS) {
  nodeLoad = loadLine();
  node = runNodeHarness(CREATE_RATES[0] ?? 200);
}

const lines = [
  `ghz v0.120.0, ${ROWS.toLocaleString("en")} sessions stored, ${SECONDS} s per scenario, started ${started}`,
  "",
  "| operation | pods | rate (req/s) | achieved (ok/s) | p50 ms | p95 ms | p99 ms | errors | load (1/5/15 min) | seeds' p95 |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.op} | ${r.pods} | ${r.rate} | ${r.achieved} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${r.errors} | ${r.load.slice(5)} | ${SEED_P95[r.op]} |`,
  ),
];
if (node) {
  lines.push(
    "",
    `Node harness (bench/control-plane/control-plane-bench.ts, 1 pod, gRPC over one HTTP/2 connection), same run, ${nodeLoad}:`,
    "",
    "| operation | mode | p50 ms | p95 ms | p99 ms | errors |",
    "|---|---|---|---|---|---|",
    `| ListSessions (mixed pages, 2,000 calls) | one client, sequential | ${ms(node.listSessions.all.p50)} | ${ms(node.listSessions.all.p95)} | ${ms(node.listSessions.all.p99)} | 0 |`,
    `| CreateSession | open loop ${node.createSession.rate}/s (achieved ${node.createSession.achievedRate}) | ${ms(node.createSession.p50)} | ${ms(node.createSession.p95)} | ${ms(node.createSession.p99)} | ${node.createSession.errors} |`,
  );
}
const failed = rows.filter((r) => r.topError);
if (failed.length) {
  lines.push("", "Most frequent error per scenario with errors:", "");
  for (const r of failed) lines.push(`* ${r.op}, ${r.pods} pod(s), ${r.rate}/s: ${r.topError}`);
}
console.log(lines.join("\n"));
