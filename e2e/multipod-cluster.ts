/**
 * N control-plane processes on one Postgres and one Redis, each spawned exactly as production
 * runs it (`node --import tsx control-plane/src/main.ts` with its environment), for the
 * multi-pod e2e test and the cross-pod benchmark. Logs are kept in memory and printed when a
 * test fails, so a red run explains itself.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type OwnedChild, spawnOwned } from "../scripts/owned-child.ts";
import { freePort } from "../scripts/services.ts";

/** One control-plane process. */
export interface PodProcess {
  name: string;
  url: string;
  child: ChildProcess;
  owned: OwnedChild;
  log: string[];
  readonly alive: boolean;
}

/** The running cluster; dispose kills every process and drops the database. */
export interface PodCluster extends AsyncDisposable {
  pods: PodProcess[];
  databaseUrl: string;
  adminPassword: string;
  bootstrapToken: string;
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  logs(): string;
}

const ROOT = new URL("..", import.meta.url).pathname;

/** Creates a fresh database on the server at `postgresUrl` and starts `n` pods on it. */
export async function startPodCluster(opts: {
  n: number;
  postgresUrl: string;
  redisUrl: string;
  env?: Record<string, string>;
}): Promise<PodCluster> {
  const dbName = `mp_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: opts.postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const databaseUrl = opts.postgresUrl.replace(/\/[^/]*$/, `/${dbName}`);
  const dataDir = mkdtempSync(join(tmpdir(), "ss-multipod-"));
  const adminPassword = randomBytes(9).toString("base64url");
  const bootstrapToken = randomBytes(9).toString("base64url");
  const jwtSecret = randomBytes(32).toString("base64url");
  const pods: PodProcess[] = [];

  const spawnPod = async (i: number) => {
    const port = await freePort();
    const name = `pod-${i}`;
    const owned = spawnOwned(
      name,
      process.execPath,
      ["--import", "tsx", "control-plane/src/main.ts"],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        node: true,
        env: {
          ...process.env,
          HOST: "127.0.0.1",
          PORT: String(port),
          POD_NAME: name,
          DATABASE_URL: databaseUrl,
          REDIS_URL: opts.redisUrl,
          AGENT_HUB_BACKEND: "redis",
          JWT_SECRET: jwtSecret,
          ADMIN_PASSWORD: adminPassword,
          AGENT_BOOTSTRAP_TOKEN: bootstrapToken,
          AGENT_AUTO_APPROVE: "true",
          DATA_DIR: join(dataDir, name),
          LOG_LEVEL: "info",
          ...opts.env,
        },
      },
    );
    const pod: PodProcess = {
      name,
      url: `http://127.0.0.1:${port}`,
      child: owned.child,
      owned,
      log: [],
      get alive() {
        return owned.alive;
      },
    };
    const keep = (d: Buffer) => {
      pod.log.push(...d.toString().split("\n").filter(Boolean));
      if (pod.log.length > 400) pod.log.splice(0, pod.log.length - 400);
    };
    owned.child.stdout?.on("data", keep);
    owned.child.stderr?.on("data", keep);
    pods[i] = pod;
    await waitReady(pod);
  };

  const cluster: PodCluster = {
    pods,
    databaseUrl,
    adminPassword,
    bootstrapToken,
    async kill(i, signal = "SIGKILL") {
      await pods[i]?.owned.stop({ signal, graceMs: 5_000 });
    },
    logs: () => pods.map((p) => `--- ${p.name}\n${p.log.slice(-60).join("\n")}`).join("\n"),
    async [Symbol.asyncDispose]() {
      await Promise.all(pods.map((_, i) => cluster.kill(i)));
      rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: opts.postgresUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
      await c.end();
    },
  };
  try {
    // The first pod migrates and seeds alone; the others then start side by side.
    await spawnPod(0);
    await Promise.all(Array.from({ length: opts.n - 1 }, (_, i) => spawnPod(i + 1)));
  } catch (err) {
    const logs = cluster.logs();
    await cluster[Symbol.asyncDispose]();
    throw new Error(`pods did not start:\n${logs}`, { cause: err });
  }
  return cluster;
}

async function waitReady(pod: PodProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pod.alive) throw new Error(`${pod.name} exited during start`);
    try {
      const r = await fetch(`${pod.url}/ready`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${pod.name} not ready after ${timeoutMs} ms`);
}
