/**
 * The scaled-out shape on one machine: real Postgres and Redis (scripts/services.ts), N
 * control-plane processes and M relays as separate OS processes, HAProxy in front of both.
 * Used by the e2e tests (startLocalCluster) and by people who want to watch it run:
 *
 *   node --import tsx deploy/local/cluster.ts --control-planes 2 --relays 3
 *
 * Every process binds 127.0.0.1 on a free port. Relays register in Redis with a TTL; control
 * planes read the ring from Redis and push it to agents. All of it is torn down by stop().
 */
import type { ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DATA_PATH_NODE_FLAGS } from "@streamspace/common/node-flags";
import {
  exitWithParentArgs,
  exitWithParentEnv,
  type OwnedChild,
  spawnOwned,
} from "../../scripts/owned-child.ts";
import {
  freePort,
  type Service,
  startPostgres,
  startRedis,
  waitForPort,
} from "../../scripts/services.ts";
import { renderHaproxyConfig } from "./haproxy-config.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A child process of the cluster, killable by the tests. */
export interface ClusterProcess {
  id: string;
  port: number;
  url: string;
  child: ChildProcess;
  owned: OwnedChild;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the process again (killing it first if it still runs): same id, port and env. */
  restart(): Promise<void>;
}

/** Cluster knobs; defaults give 1 control plane and 3 relays. */
export interface ClusterOptions {
  controlPlanes?: number;
  relays?: number;
  /** Extra relay slots in HAProxy, for relays added later with addRelay(). */
  spareRelaySlots?: number;
  relayTtlMs?: number;
  vncProxyTimeout?: string;
  /** Static JWKS for relays (tests mint their own tokens); default: the first control plane's. */
  viewerJwks?: string;
  logDir?: string;
  env?: Record<string, string>;
  /**
   * Runs a control-plane pod somewhere else: under a command prefix (e.g. `ip netns exec NS`,
   * for the chaos suite's network partition), bound to `host`, with its environment rewritten
   * (addresses of Postgres and Redis as seen from there). Undefined keeps the pod local.
   */
  placeControlPlane?: (
    id: string,
    env: Record<string, string>,
  ) => { prefix: string[]; host: string; env: Record<string, string> } | undefined;
}

/** A running cluster. */
export interface LocalCluster {
  relayFrontUrl: string;
  /** HAProxy's stats page (append ";csv" for machine-readable). */
  haproxyStatsUrl: string;
  apiUrl?: string;
  redisUrl: string;
  databaseUrl: string;
  /** Bearer token for each relay's `/debug/sessions` (random per cluster). */
  relayDebugToken: string;
  relays: ClusterProcess[];
  controlPlanes: ClusterProcess[];
  /** The cluster's Postgres and Redis, for tests that restart them (Service.restart). */
  postgres: Service;
  redis: Service;
  addRelay(): Promise<ClusterProcess>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Best effort: a log must never crash the launcher (e.g. its folder is already removed). */
function saveLog(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch {}
}

/** Starts one Node deployable as an owned child (its own group; it stops if we die). */
function launch(
  id: string,
  args: string[],
  env: Record<string, string>,
  logDir: string,
  prefix: string[] = [],
): OwnedChild {
  // Data-path processes (relays) get a young generation sized for streaming.
  const flags = args[0]?.startsWith("dataplane/") ? DATA_PATH_NODE_FLAGS : [];
  const nodeArgs = [...flags, "--import", "tsx", ...args];
  // A prefix (`ip netns exec NS`) execs node in place, so the pid and its group stay ours.
  const child = prefix[0]
    ? spawnOwned(
        id,
        prefix[0],
        [...prefix.slice(1), process.execPath, ...exitWithParentArgs(), ...nodeArgs],
        {
          cwd: ROOT,
          env: { ...process.env, ...env, ...exitWithParentEnv() },
          stdio: ["ignore", "ignore", "pipe"],
        },
      )
    : spawnOwned(id, process.execPath, nodeArgs, {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "ignore", "pipe"],
        node: true,
      });
  keepLog(child, join(logDir, `${id}.log`), 20_000);
  return child;
}

/** Keeps the tail of a child's stderr and writes it to `file` when the child exits. */
function keepLog(child: OwnedChild, file: string, maxChars: number): void {
  let log = "";
  child.child.stderr?.on("data", (d) => {
    log = (log + d).slice(-maxChars);
  });
  void child.exited.then(() => saveLog(file, log));
}

/** Starts the whole cluster and waits until every process answers. */
export async function startLocalCluster(opts: ClusterOptions = {}): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), "ss-cluster-"));
  const logDir = opts.logDir ?? dir;
  const services: Service[] = [];
  const children: OwnedChild[] = [];
  let haproxy: OwnedChild | undefined;
  const stop = async () => {
    if (haproxy) await haproxy.stop({ graceMs: 5_000 });
    await Promise.all(children.map((c) => c.stop({ graceMs: 5_000 })));
    await Promise.all(services.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    services.push(pg, redis);
    const { privateKey } = generateKeyPairSync("ed25519");
    const keyFile = join(dir, "signing-key.pem");
    writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
    const jwtSecret = randomBytes(32).toString("hex");

    const cpEnv = (id: string, port: number) => ({
      PORT: String(port),
      HOST: "127.0.0.1",
      POD_NAME: id,
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      AGENT_HUB_BACKEND: "redis",
      JWT_SECRET: jwtSecret,
      SIGNING_KEY_FILE: keyFile,
      DATA_DIR: join(dir, id),
      ADMIN_PASSWORD: "admin-password-local",
      ...opts.env,
    });
    const controlPlanes: ClusterProcess[] = [];
    for (let i = 1; i <= (opts.controlPlanes ?? 1); i++) {
      const id = `cp-${i}`;
      const port = await freePort();
      const place = opts.placeControlPlane?.(id, cpEnv(id, port));
      const env = place ? { ...place.env, HOST: place.host } : cpEnv(id, port);
      const start = () => launch(id, ["control-plane/src/main.ts"], env, logDir, place?.prefix);
      const child = start();
      children.push(child);
      const p = proc(id, port, child, async () => {
        const again = start();
        children.push(again);
        await waitForPort(port, 120_000, again, place?.host);
        return again;
      });
      if (place) p.url = `http://${place.host}:${port}`;
      controlPlanes.push(p);
    }
    await Promise.all(
      controlPlanes.map((c) => waitForPort(c.port, 120_000, c.owned, new URL(c.url).hostname)),
    );

    const relayDebugToken = randomBytes(24).toString("base64url");
    const relayEnv = (id: string, port: number) => ({
      PORT: String(port),
      RELAY_DEBUG_TOKEN: relayDebugToken,
      HOST: "127.0.0.1",
      RELAY_ID: id,
      RELAY_PUBLIC_URL: `http://127.0.0.1:${port}`,
      REDIS_URL: redis.url,
      RELAY_TTL_MS: String(opts.relayTtlMs ?? 3000),
      VNC_PROXY_TIMEOUT: opts.vncProxyTimeout ?? "30m",
      ...(opts.viewerJwks
        ? { VIEWER_JWKS: opts.viewerJwks }
        : {
            VIEWER_JWKS_URL: `${controlPlanes[0]?.url ?? "http://127.0.0.1:8080"}/.well-known/jwks.json`,
          }),
      ...opts.env,
    });
    const total = (opts.relays ?? 3) + (opts.spareRelaySlots ?? 0);
    const slots = await Promise.all(
      Array.from({ length: total }, async (_, i) => ({
        id: `relay-${i + 1}`,
        port: await freePort(),
      })),
    );
    const relays: ClusterProcess[] = [];
    const startRelay = async (slot: { id: string; port: number }) => {
      const child = launch(
        slot.id,
        ["dataplane/src/main.ts"],
        relayEnv(slot.id, slot.port),
        logDir,
      );
      children.push(child);
      const p = proc(slot.id, slot.port, child, async () => {
        const again = launch(
          slot.id,
          ["dataplane/src/main.ts"],
          relayEnv(slot.id, slot.port),
          logDir,
        );
        children.push(again);
        await waitReady(`http://127.0.0.1:${slot.port}/ready`, 120_000, again);
        return again;
      });
      relays.push(p);
      await waitReady(`${p.url}/ready`, 120_000, child);
      return p;
    };
    await Promise.all(slots.slice(0, opts.relays ?? 3).map(startRelay));

    const relayFrontPort = await freePort();
    const apiFrontPort = controlPlanes.length ? await freePort() : undefined;
    const statsPort = await freePort();
    const cfg = join(dir, "haproxy.cfg");
    writeFileSync(
      cfg,
      renderHaproxyConfig({
        relayFrontPort,
        apiFrontPort,
        statsPort,
        relaySlots: slots,
        controlPlanes,
        logRequests: !!process.env.HAPROXY_LOG,
      }),
    );
    if (!process.env.PATH?.split(":").some((d) => d && existsSync(join(d, "haproxy")))) {
      throw new Error('haproxy is not installed: run "sudo apt-get install -y haproxy" and retry.');
    }
    haproxy = spawnOwned("haproxy", "haproxy", ["-db", "-f", cfg], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    keepLog(haproxy, join(logDir, "haproxy.log"), 200_000);
    await waitForPort(relayFrontPort, 30_000, haproxy);
    // HAProxy starts every server UP until its first check; wait until it sees the real set,
    // so no viewer is sent to a spare slot that has no relay yet.
    const alive = () => relays.filter((r) => r.owned.alive);
    const haproxyAgrees = () =>
      waitHaproxy(
        statsPort,
        new Set(alive().map((r) => r.id)),
        slots.map((s) => s.id),
      );
    await haproxyAgrees();

    let nextSlot = opts.relays ?? 3;
    return {
      relayFrontUrl: `http://127.0.0.1:${relayFrontPort}`,
      haproxyStatsUrl: `http://127.0.0.1:${statsPort}/`,
      apiUrl: apiFrontPort ? `http://127.0.0.1:${apiFrontPort}` : undefined,
      redisUrl: redis.url,
      databaseUrl: pg.url,
      relayDebugToken,
      relays,
      controlPlanes,
      postgres: pg,
      redis,
      async addRelay() {
        const slot = slots[nextSlot++];
        if (!slot) throw new Error("no spare relay slot: start the cluster with spareRelaySlots");
        const p = await startRelay(slot);
        await haproxyAgrees();
        return p;
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function proc(
  id: string,
  port: number,
  owned: OwnedChild,
  respawn: () => Promise<OwnedChild>,
): ClusterProcess {
  const p: ClusterProcess = {
    id,
    port,
    url: `http://127.0.0.1:${port}`,
    child: owned.child,
    owned,
    kill: async (signal) => {
      await p.owned.stop({ signal, graceMs: 5_000 });
    },
    restart: async () => {
      await p.owned.stop({ graceMs: 5_000 });
      p.owned = await respawn();
      p.child = p.owned.child;
    },
  };
  return p;
}

async function waitReady(url: string, timeoutMs: number, owner: OwnedChild): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!owner.alive) throw new Error(`${owner.name} exited before it was ready`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls HAProxy's CSV stats until exactly `up` of `all` relay servers are UP. */
async function waitHaproxy(
  statsPort: number,
  up: ReadonlySet<string>,
  all: string[],
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const csv = await (await fetch(`http://127.0.0.1:${statsPort}/;csv`)).text();
      const status = new Map<string, string>();
      for (const line of csv.split("\n")) {
        const f = line.split(",");
        if (f[0] === "relays" && f[1] && f[1] !== "BACKEND" && f[1] !== "FRONTEND")
          status.set(f[1], f[17] ?? "");
      }
      if (all.every((id) => status.get(id)?.startsWith("UP") === up.has(id))) return;
    } catch {}
    if (Date.now() > deadline) throw new Error("HAProxy did not converge on the running relay set");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // A signal during start-up is honoured once the cluster is up (start-up cleans up after
  // itself only on failure), so nothing it started is left behind.
  let stopRequested = false;
  let stopNow = () => {
    stopRequested = true;
  };
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, () => stopNow());
  const cluster = await startLocalCluster({
    controlPlanes: arg("control-planes", 2),
    relays: arg("relays", 3),
  });
  console.log(
    JSON.stringify(
      {
        api: cluster.apiUrl,
        vnc: cluster.relayFrontUrl,
        controlPlanes: cluster.controlPlanes.map((c) => c.url),
        relays: cluster.relays.map((r) => ({ id: r.id, url: r.url })),
        redis: cluster.redisUrl,
        postgres: cluster.databaseUrl,
      },
      null,
      2,
    ),
  );
  console.log("cluster running; Ctrl-C stops everything");
  let stopping = false;
  stopNow = () => {
    if (stopping) return;
    stopping = true;
    void cluster.stop().then(() => process.exit(0));
  };
  if (stopRequested) stopNow();
}
