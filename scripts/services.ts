/**
 * Throwaway Postgres and Redis on free loopback ports, for tests, benchmarks and the local
 * multi-process deployment. Binaries come from PATH or /usr/lib/postgresql/*\/bin; when they
 * are missing and we run as root they are installed with apt-get, otherwise we stop with one
 * line that says what to install. Nothing here is ever skipped for want of a service.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OwnedChild, spawnOwned } from "./owned-child.ts";
import { listProcesses } from "./process-table.ts";

const APT_PACKAGES = { postgres: "postgresql", redis: "redis-server" } as const;

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function postgresBin(name: string): string | undefined {
  const fromPath = which(name);
  if (fromPath) return fromPath;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const p = join(root, v, "bin", name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function ensureInstalled(kind: keyof typeof APT_PACKAGES, find: () => string | undefined): string {
  const found = find();
  if (found) return found;
  const pkg = APT_PACKAGES[kind];
  if (process.getuid?.() !== 0) {
    throw new Error(`${kind} is not installed: run "sudo apt-get install -y ${pkg}" and retry.`);
  }
  execFileSync("apt-get", ["install", "-y", "-qq", pkg], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  const after = find();
  if (!after) throw new Error(`apt-get installed ${pkg} but its binary was not found.`);
  return after;
}

/**
 * Resolves when something accepts TCP connections on the port; rejects at the deadline, or at
 * once when `owner` (the process expected to listen) has exited.
 */
export async function waitForPort(
  port: number,
  timeoutMs = 15_000,
  owner?: Pick<OwnedChild, "alive" | "name">,
  host = "127.0.0.1",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (owner && !owner.alive) throw new Error(`${owner.name} exited before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, host);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running throwaway service; stop() ends it and removes its files. */
export interface Service {
  url: string;
  port: number;
  /** The service's processes (its process group), for tests that check nothing outlives it. */
  pids(): number[];
  stop(): Promise<void>;
  /**
   * Stops the service, keeps its data, waits `downMs`, and starts it again on the same port:
   * the chaos suite's "restart Postgres / Redis" (Redis keeps nothing, as configured).
   */
  restart(downMs?: number): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function groupPids(child: OwnedChild): number[] {
  return listProcesses()
    .filter((p) => p.pgid === child.pid && p.state !== "Z")
    .map((p) => p.pid);
}

function asRootAwareUser(cmd: string, args: string[]): [string, string[]] {
  // Postgres refuses to run as root; run it as the postgres user the Debian package creates.
  return process.getuid?.() === 0
    ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
    : [cmd, args];
}

/** Starts a fresh Postgres cluster with fsync off (test data is throwaway). */
export async function startPostgres(opts: { port?: number } = {}): Promise<Service> {
  const initdb = ensureInstalled("postgres", () => postgresBin("initdb"));
  const postgres = postgresBin("postgres")!;
  const dir = mkdtempSync(join(tmpdir(), "ss-pg-"));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const [initCmd, initArgs] = asRootAwareUser(initdb, [
    "-D",
    data,
    "-U",
    "streamspace",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  execFileSync(initCmd, initArgs, { stdio: "ignore" });
  const port = opts.port ?? (await freePort());
  const [cmd, args] = asRootAwareUser(postgres, [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-h",
    "127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=400",
    "-c",
    "shared_buffers=256MB",
  ]);
  let stderr = "";
  const spawnPostgres = async () => {
    const c = spawnOwned("postgres", cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    c.child.stderr?.on("data", (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    try {
      await waitForPort(port, 15_000, c);
      await waitForPostgresReady(port);
    } catch (err) {
      await c.stop({ signal: "SIGKILL" });
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres did not start: ${stderr}`, { cause: err });
    }
    return c;
  };
  let child = await spawnPostgres();
  const url = `postgres://streamspace@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    // Fast shutdown is SIGINT to the postmaster itself: runuser (used as root) does not
    // forward SIGINT, so signalling runuser alone left Postgres running and stop() hanging.
    // The group signal reaches the postmaster too; SIGKILL follows after the grace period.
    await child.stop({ signal: "SIGINT", graceMs: 15_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  const restart = async (downMs = 0) => {
    await child.stop({ signal: "SIGINT", graceMs: 15_000 });
    await new Promise((r) => setTimeout(r, downMs));
    child = await spawnPostgres();
  };
  return { url, port, pids: () => groupPids(child), stop, restart, [Symbol.asyncDispose]: stop };
}

async function waitForPostgresReady(port: number): Promise<void> {
  const isReady = postgresBin("pg_isready");
  if (!isReady) return;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      execFileSync(isReady, ["-h", "127.0.0.1", "-p", String(port), "-q"]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("pg_isready never reported ready");
}

/** Starts a Redis with no persistence. Pass a port to restart one on the same address. */
export async function startRedis(opts: { port?: number } = {}): Promise<Service> {
  const bin = ensureInstalled("redis", () => which("redis-server"));
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "ss-redis-"));
  const spawnRedis = () =>
    spawnOwned(
      "redis",
      bin,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        // Redis rewrites its title over its environment otherwise, and the test runner finds a
        // test's leftover processes by a variable in their environment.
        "--set-proc-title",
        "no",
        "--dir",
        dir,
      ],
      { stdio: "ignore" },
    );
  let child = spawnRedis();
  try {
    await waitForPort(port, 15_000, child);
  } catch (err) {
    await child.stop({ signal: "SIGKILL" });
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = async () => {
    await child.stop({ signal: "SIGTERM", graceMs: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  const restart = async (downMs = 0) => {
    await child.stop({ signal: "SIGTERM", graceMs: 10_000 });
    await new Promise((r) => setTimeout(r, downMs));
    child = spawnRedis();
    await waitForPort(port, 15_000, child);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pids: () => groupPids(child),
    stop,
    restart,
    [Symbol.asyncDispose]: stop,
  };
}

/** Starts both and returns the environment a test run needs. */
export async function startServices(): Promise<{
  env: Record<string, string>;
  stop(): Promise<void>;
}> {
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  return {
    env: {
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      TEST_POSTGRES_URL: pg.url,
      TEST_REDIS_URL: redis.url,
    },
    stop: async () => {
      await Promise.all([pg.stop(), redis.stop()]);
    },
  };
}
