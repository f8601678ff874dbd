/**
 * The one test command (`npm test`): starts throwaway Postgres and Redis, runs every
 * `*.test.ts` through node:test (Node 20 does not expand globs, so we list them), stops the
 * services. Pass file or folder paths to run a subset.
 */
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { startRunWideTestbed } from "./k8s-testbed/testbed.ts";
import { startServices } from "./services.ts";

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
];
const SKIP_DIRS = new Set(["node_modules", "dist", "gen", ".data", "test-artifacts"]);

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

const args = process.argv.slice(2);
const files = (args.length ? args : ROOTS).flatMap((p) => findTests(p, [])).sort();
if (files.length === 0) {
  console.error("no *.test.ts files found under", args.length ? args.join(" ") : ROOTS.join(" "));
  process.exit(1);
}

// The tests use real Postgres, Redis, Xvfb, x11vnc, HAProxy and Chromium: install what is missing.
execFileSync("bash", ["scripts/install-system-deps.sh"], { stdio: "inherit" });
const services = await startServices();
console.error(
  `test services: postgres ${services.env.DATABASE_URL}, redis ${services.env.REDIS_URL}`,
);
// One Kubernetes test bed for the run when a selected test uses it (built once per version).
const wantsKube = files.some((f) => readFileSync(f, "utf8").includes("startK8sTestbed"));
if (wantsKube) execFileSync("bash", ["scripts/k8s-testbed/build.sh"], { stdio: "inherit" });
const kube = wantsKube ? await startRunWideTestbed() : undefined;
if (kube) console.error(`test services: kubernetes test bed, KUBECONFIG=${kube.kubeconfig}`);
const concurrency = process.env.TEST_CONCURRENCY ?? "1";
const child = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${concurrency}`,
    "--test-timeout=240000",
    ...files.map((f) => relative(".", f)),
  ],
  {
    stdio: "inherit",
    env: { ...process.env, ...services.env, ...(kube ? { TEST_K8S_TESTBED: kube.file } : {}) },
  },
);
const stop = () => child.kill("SIGINT");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
const code: number = await new Promise((r) => child.on("exit", (c, s) => r(c ?? (s ? 1 : 0))));
await kube?.stop();
await services.stop();
process.exit(code);
