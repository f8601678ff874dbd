/**
 * The one test command (`npm test [-- paths…]`): installs the system packages tests use,
 * starts throwaway Postgres and Redis, and runs every `*.test.ts` (Node 20 does not expand
 * globs, so we list them) through node:test, one process per file.
 *
 * Files run in parallel: each owns its database (a fresh one per file on the shared server), its
 * Redis keys (a random prefix, or its own Redis) and its ports (kernel-chosen). Files that start
 * whole systems or a browser run one at a time beside the others, two at a time once only heavy
 * files are left (see ./test-plan.ts). `--jobs N` (or TEST_JOBS) sets how many light files run
 * at once.
 *
 * Nothing a test starts may outlive it: every file process carries a marker variable that its
 * children inherit; after each file the runner looks for live processes with that file's marker,
 * names them, kills them and fails the file. Inside each file, scripts/test-guard.ts fails the
 * file when open handles keep it alive after its tests. Output is printed per file when it ends.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { startRunWideTestbed } from "./k8s-testbed/testbed.ts";
import { type OwnedChild, spawnOwned } from "./owned-child.ts";
import { isAlive, killAll, processesWithEnv } from "./process-table.ts";
import { startServices } from "./services.ts";
import { laneOf } from "./test-plan.ts";

const ROOTS = [
  "common",
  "control-plane",
  "dataplane",
  "agents",
  "web",
  "e2e",
  "bench",
  "scripts",
  "deploy",
  "sdk/ts",
];
const SKIP_DIRS = new Set(["node_modules", "dist", "gen", ".data", "test-artifacts"]);
/** Hang guard per file (node:test's own timeout); a file that needs longer is broken. */
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 10 * 60_000);
/** The markers; the run id starts with our pid, so a later run can tell a dead run's leftovers. */
const RUN_MARK = "STREAMSPACE_TEST_RUN";
const FILE_MARK = "STREAMSPACE_TEST_FILE";

function findTests(path: string, out: string[]): string[] {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return out;
  if (st.isFile()) {
    if (path.endsWith(".test.ts")) out.push(path);
    return out;
  }
  for (const entry of readdirSync(path)) {
    if (!SKIP_DIRS.has(entry)) findTests(join(path, entry), out);
  }
  return out;
}

function parseArgs(argv: string[]): { jobs: number; paths: string[] } {
  let jobs = Number(process.env.TEST_JOBS ?? Math.max(2, availableParallelism()));
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--jobs" || a === "-j") jobs = Number(argv[++i]);
    else if (a.startsWith("--jobs=")) jobs = Number(a.slice(7));
    else paths.push(a);
  }
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error("--jobs expects a positive integer");
  return { jobs, paths };
}

const { jobs, paths } = parseArgs(process.argv.slice(2));
const files = [...new Set((paths.length ? paths : ROOTS).flatMap((p) => findTests(p, [])))]
  .map((f) => relative(".", f))
  .sort();
if (files.length === 0) {
  console.error("no *.test.ts files found under", paths.length ? paths.join(" ") : ROOTS.join(" "));
  process.exit(1);
}

/** Processes a run that died (killed outright) left behind: stop them before we start. */
function sweepDeadRuns(): void {
  const stale = processesWithEnv((env) => {
    const owner = Number(env.get(RUN_MARK)?.split("-")[0]);
    return owner > 0 && owner !== process.pid && !isAlive(owner);
  });
  if (stale.length === 0) return;
  console.error(`stopping ${stale.length} processes left by an earlier test run that was killed`);
  killAll(stale, "SIGKILL");
}

// The tests use real Postgres, Redis, Xvfb, x11vnc, HAProxy and Chromium: install what is missing.
execFileSync("bash", ["scripts/install-system-deps.sh"], { stdio: "inherit" });
sweepDeadRuns();
const runId = `${process.pid}-${randomBytes(4).toString("hex")}`;
// The services carry the run's marker too, so a later run can stop them if this one is killed.
process.env[RUN_MARK] = runId;
const services = await startServices();
// One Kubernetes test bed for the run when a selected file uses it (built once per version).
const wantsKube = files.some((f) => readFileSync(f, "utf8").includes("startK8sTestbed"));
if (wantsKube) execFileSync("bash", ["scripts/k8s-testbed/build.sh"], { stdio: "inherit" });
const kube = wantsKube ? await startRunWideTestbed() : undefined;
if (kube) services.env.TEST_K8S_TESTBED = kube.file;
delete process.env[RUN_MARK];
console.error(
  `test services: postgres ${services.env.DATABASE_URL}, redis ${services.env.REDIS_URL}; ` +
    `${files.length} files, ${jobs} light at once beside one heavy`,
);

interface FileResult {
  file: string;
  ok: boolean;
  ms: number;
  leftovers: number;
}
const results: FileResult[] = [];
const running = new Set<OwnedChild>();
const started = Date.now();
let interrupted = false;

async function runFile(file: string): Promise<void> {
  const t0 = Date.now();
  const child = spawnOwned(
    file,
    process.execPath,
    [
      "--import",
      "tsx",
      "--import",
      "./scripts/test-guard.ts",
      "--test",
      "--test-reporter=spec",
      `--test-timeout=${FILE_TIMEOUT_MS}`,
      file,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...services.env, [RUN_MARK]: runId, [FILE_MARK]: file },
      // If this runner is killed outright, the file's runner stops instead of running on.
      node: true,
    },
  );
  running.add(child);
  // "exit" can come before the last output is read; "close" comes after both.
  const closed = new Promise<void>((r) => child.child.once("close", () => r()));
  let output = "";
  child.child.stdout?.on("data", (d) => {
    output += d;
  });
  child.child.stderr?.on("data", (d) => {
    output += d;
  });
  // node:test stops the file at its timeout; this only catches the runner itself hanging.
  const hang = setTimeout(() => void child.stop({ graceMs: 5_000 }), FILE_TIMEOUT_MS + 60_000);
  const { code, signal } = await child.exited;
  clearTimeout(hang);
  await child.stop();
  await closed;
  running.delete(child);
  const ms = Date.now() - t0;
  const left = processesWithEnv(
    (env) => env.get(RUN_MARK) === runId && env.get(FILE_MARK) === file,
  );
  if (left.length > 0) {
    killAll(left, "SIGKILL");
    output +=
      `\ntest runner: ${file} left ${left.length} processes running after it ended (killed now):\n` +
      left.map((p) => `  pid ${p.pid}: ${p.cmdline.slice(0, 200)}`).join("\n") +
      "\nEvery process a test starts must be stopped by it (await using / finally).\n";
  }
  const ok = code === 0 && left.length === 0;
  results.push({ file, ok, ms, leftovers: left.length });
  const secs = (ms / 1000).toFixed(1);
  const how = ok
    ? "ok"
    : code === 0
      ? "FAILED (left processes running)"
      : `FAILED (${signal ?? `exit code ${code}`})`;
  if (!ok && !interrupted) process.stdout.write(`\n===== ${file}\n${output}\n`);
  process.stdout.write(`${ok ? "✔" : "✖"} ${file} ${how} ${secs} s\n`);
}

/**
 * Runs every file: up to `jobs` light files at once beside one heavy file; once no light file
 * is left waiting, two heavy files may run at once, so the heavy ones do not finish alone.
 */
function runAll(heavy: string[], light: string[]): Promise<void> {
  let heavyRunning = 0;
  let lightRunning = 0;
  return new Promise((done) => {
    const pump = () => {
      if (interrupted) return done();
      for (;;) {
        const heavyCap = light.length > 0 ? 1 : 2;
        let file: string | undefined;
        let isHeavy = false;
        if (heavy.length > 0 && heavyRunning < heavyCap) {
          file = heavy.shift();
          isHeavy = true;
        } else if (light.length > 0 && lightRunning < jobs) {
          file = light.shift();
        }
        if (file === undefined) break;
        if (isHeavy) heavyRunning++;
        else lightRunning++;
        void runFile(file).then(() => {
          if (isHeavy) heavyRunning--;
          else lightRunning--;
          pump();
        });
      }
      if (heavyRunning + lightRunning === 0) done();
    };
    pump();
  });
}

const stop = async (signal: NodeJS.Signals) => {
  if (interrupted) return;
  interrupted = true;
  console.error(`\n${signal}: stopping the running test files…`);
  await Promise.all([...running].map((c) => c.stop({ graceMs: 5_000 })));
  killAll(
    processesWithEnv((env) => env.get(RUN_MARK) === runId),
    "SIGKILL",
  );
  await kube?.stop();
  await services.stop();
  process.exit(130);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGHUP", () => void stop("SIGHUP"));

// Longest first within each lane (by the last run's times; files never timed count as long),
// so a slow file does not start last and hold up the end of the run.
const TIMES_FILE = "test-artifacts/test-times.json";
const lastMs = new Map<string, number>();
try {
  const last = JSON.parse(readFileSync(TIMES_FILE, "utf8")) as { results: FileResult[] };
  for (const r of last.results) lastMs.set(r.file, r.ms);
} catch {}
const byLastTime = (a: string, b: string) =>
  (lastMs.get(b) ?? Number.MAX_SAFE_INTEGER) - (lastMs.get(a) ?? Number.MAX_SAFE_INTEGER);
const heavy = files.filter((f) => laneOf(f) === "heavy").sort(byLastTime);
const light = files.filter((f) => laneOf(f) === "light").sort(byLastTime);
await runAll(heavy, light);
await kube?.stop();
await services.stop();
const strays = processesWithEnv((env) => env.get(RUN_MARK) === runId);
if (strays.length > 0) {
  killAll(strays, "SIGKILL");
  console.error(`test runner: ${strays.length} processes of this run were still alive; killed.`);
}

const failed = results.filter((r) => !r.ok);
const wall = ((Date.now() - started) / 1000).toFixed(1);
const sum = (results.reduce((a, r) => a + r.ms, 0) / 1000).toFixed(1);
// Keep the times of files not run this time, so a subset run does not forget the others.
for (const r of results) lastMs.set(r.file, r.ms);
mkdirSync("test-artifacts", { recursive: true });
writeFileSync(
  TIMES_FILE,
  `${JSON.stringify(
    {
      wallSeconds: Number(wall),
      jobs,
      results: [...lastMs].map(
        ([file, ms]) => results.find((r) => r.file === file) ?? { file, ms },
      ),
    },
    null,
    2,
  )}\n`,
);
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 8);
console.log(
  `\n${results.length} files in ${wall} s (${sum} s of file time, ${jobs} at once); slowest: ` +
    slowest.map((r) => `${r.file} ${(r.ms / 1000).toFixed(0)} s`).join(", "),
);
if (failed.length > 0 || strays.length > 0) {
  console.log(`FAILED: ${failed.map((r) => r.file).join(", ") || "stray processes"}`);
  process.exit(1);
}
console.log("all test files passed");
