/**
 * The whole system on one machine with embedded defaults (DESIGN.md §6): one control-plane
 * process (PGlite in the data folder, in-memory hub), one relay, one local agent. Each is an
 * owned child (scripts/owned-child.ts): its own process group, stopped by us in order (agent
 * first, so it stops its desktops), and stopping by itself if we die without stopping it. Used
 * by `npm start` and by e2e tests. Every listener binds 127.0.0.1.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { DATA_PATH_NODE_FLAGS } from "@streamspace/common/node-flags";
import { type ChildExit, type OwnedChild, spawnOwned } from "./owned-child.ts";
import { freePort } from "./services.ts";
import { waitForHealth } from "./wait-for-health.ts";

export { getJson } from "./wait-for-health.ts";

/** Where the children's output goes. */
export type LocalSystemOutput =
  /** The terminal (`npm start -- --verbose`). */
  | "inherit"
  /** One file per process under `<dataDir>/logs/` (`npm start`). */
  | "files"
  /** A line callback (tests keep lines in memory and print them on failure). */
  | ((name: string, line: string) => void);

export interface LocalSystemOptions {
  dataDir?: string;
  port?: number;
  relayPort?: number;
  agentHealthPort?: number;
  output?: LocalSystemOutput;
  /** Told each step as it begins ("Starting the relay…"), for a person watching. */
  progress?: (step: string) => void;
  /** Aborting stops whatever has started and rejects. */
  signal?: AbortSignal;
  env?: Record<string, string>;
  /**
   * Honour a DATABASE_URL, DB_*, REDIS_URL or AGENT_HUB_BACKEND set in this process's
   * environment (`npm start`: the person starting it chose them). Off by default, because the
   * test runner sets DATABASE_URL and REDIS_URL for its own services.
   */
  callerStore?: boolean;
  /**
   * Run these deployables from their production bundles (`<name>/dist/main.mjs`, made by
   * scripts/bundle.ts) with plain node instead of through tsx.
   */
  bundled?: Array<"control-plane" | "dataplane" | "agents">;
  /**
   * Approve agents that enrol with the bootstrap token at once (default). Off, the local agent
   * waits as pending until an admin approves it (the console's browser test does so).
   */
  autoApprove?: boolean;
}

/** Three free loopback ports, so tests can start several systems beside a running `npm start`. */
export async function freePorts(): Promise<{
  port: number;
  relayPort: number;
  agentHealthPort: number;
}> {
  return { port: await freePort(), relayPort: await freePort(), agentHealthPort: await freePort() };
}

export interface LocalSystem extends AsyncDisposable {
  url: string;
  username: string;
  password: string;
  pids: Record<"controlPlane" | "relay" | "agent", number>;
  /** Where the process logs are, when output is "files". */
  logDir?: string;
  /** Resolves when a process exits on its own (not through stop()): the system is broken. */
  exited: Promise<ChildExit>;
  /** SIGTERM to each process group in order, SIGKILL after the grace period; idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const HOST = "127.0.0.1";

/** A secret kept in the data folder so restarts find the same value (mode 0600). */
function persistentSecret(file: string, make: () => string): string {
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const v = make();
  writeFileSync(file, `${v}\n`, { mode: 0o600 });
  return v;
}

/**
 * Where the store and the hub live is this launcher's decision (PGlite in the data folder and
 * the in-memory hub), never an accident of the caller's shell: a DATABASE_URL or REDIS_URL
 * left in the environment would point every launched system at one shared database. The ports,
 * data folder and relay set are always the launcher's own.
 */
const STORE_SETTINGS = /^(DATABASE_URL|DB_[A-Z]+|REDIS_URL|AGENT_HUB_BACKEND)$/;
const LAUNCHER_SETTINGS = /^(RELAY_URLS|PORT|DATA_DIR)$/;

function inheritedEnv(callerStore: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || LAUNCHER_SETTINGS.test(k)) continue;
    if (!callerStore && STORE_SETTINGS.test(k)) continue;
    out[k] = v;
  }
  return out;
}

type Deployable = "control-plane" | "dataplane" | "agents";

function launch(
  name: string,
  deployable: Deployable,
  env: Record<string, string>,
  opts: LocalSystemOptions,
  logDir: string,
): OwnedChild {
  // The relay and the agent carry VNC bytes: size their young generation for it.
  const flags = deployable === "control-plane" ? [] : [...DATA_PATH_NODE_FLAGS];
  const args = opts.bundled?.includes(deployable)
    ? [...flags, join(deployable, "dist/main.mjs")]
    : [...flags, "--import", "tsx", `${deployable}/src/main.ts`];
  const output = opts.output ?? "inherit";
  let fd: number | undefined;
  if (output === "files") {
    const file = join(logDir, `${name}.log`);
    // Keep the previous run's log: it explains a crash that made the person restart.
    if (existsSync(file)) renameSync(file, join(logDir, `${name}.previous.log`));
    fd = openSync(file, "w");
  }
  const stdio =
    output === "inherit"
      ? (["ignore", "inherit", "inherit"] as const)
      : fd !== undefined
        ? (["ignore", fd, fd] as const)
        : (["ignore", "pipe", "pipe"] as const);
  const child = spawnOwned(name, process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: [...stdio],
    node: true,
  });
  // The child holds its own copy of the descriptor.
  if (fd !== undefined) closeSync(fd);
  if (typeof output === "function") {
    for (const s of [child.child.stdout, child.child.stderr]) {
      let buf = "";
      s?.on("data", (d: Buffer) => {
        buf += d.toString();
        let i = buf.indexOf("\n");
        while (i !== -1) {
          output(name, buf.slice(0, i));
          buf = buf.slice(i + 1);
          i = buf.indexOf("\n");
        }
      });
    }
  }
  return child;
}

/** Starts control plane, relay and agent; resolves once the agent is connected and the relay up. */
export async function startLocalSystem(opts: LocalSystemOptions = {}): Promise<LocalSystem> {
  const dataDir = resolve(opts.dataDir ?? join(ROOT, ".data"));
  const logDir = join(dataDir, "logs");
  mkdirSync(opts.output === "files" ? logDir : dataDir, { recursive: true });
  const port = opts.port ?? 8080;
  const relayPort = opts.relayPort ?? 8081;
  const agentHealthPort = opts.agentHealthPort ?? 8082;
  const progress = opts.progress ?? (() => {});
  const password =
    process.env.ADMIN_PASSWORD ??
    persistentSecret(join(dataDir, "admin-password"), () => randomBytes(9).toString("base64url"));
  const jwtSecret = persistentSecret(join(dataDir, "jwt-secret"), () =>
    randomBytes(32).toString("base64url"),
  );
  const bootstrapToken = randomBytes(24).toString("base64url");
  const cpUrl = `http://${HOST}:${port}`;
  const relayUrl = `http://${HOST}:${relayPort}`;
  const common = {
    ...inheritedEnv(opts.callerStore ?? false),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    ...opts.env,
  };
  const children: OwnedChild[] = [];
  let stopping = false;
  const stop = async (graceMs = 30_000) => {
    stopping = true;
    // Agent first (it stops its desktops), then relay, then the control plane.
    for (const name of ["agent", "relay", "control-plane"]) {
      const c = children.find((x) => x.name === name);
      if (c) await c.stop({ graceMs });
    }
  };

  try {
    const store =
      opts.callerStore && process.env.DATABASE_URL
        ? "the database in DATABASE_URL"
        : `embedded Postgres (PGlite) in ${join(dataDir, "control-plane")}`;
    progress(`Starting the control plane on ${cpUrl} (${store})…`);
    const cp = launch(
      "control-plane",
      "control-plane",
      {
        ...common,
        HOST,
        PORT: String(port),
        POD_NAME: "control-plane-0",
        DATA_DIR: join(dataDir, "control-plane"),
        ADMIN_PASSWORD: password,
        JWT_SECRET: jwtSecret,
        AGENT_BOOTSTRAP_TOKEN: bootstrapToken,
        AGENT_AUTO_APPROVE: opts.autoApprove === false ? "false" : "true",
        RELAY_URLS: `relay-0=${relayUrl}`,
        VNC_RELAY_PROXY: relayUrl,
      },
      opts,
      logDir,
    );
    children.push(cp);
    // Agent and relay dial the control plane; start them once it answers so their first dial
    // succeeds instead of waiting out a backoff.
    await waitForHealth(`${cpUrl}/health`, children, 120_000, () => true, opts.signal);
    progress(`Starting the relay on ${relayUrl}…`);
    children.push(
      launch(
        "relay",
        "dataplane",
        {
          ...common,
          HOST,
          PORT: String(relayPort),
          RELAY_ID: "relay-0",
          RELAY_PUBLIC_URL: relayUrl,
          RELAY_STATIC_MEMBERS: `relay-0=${relayUrl}`,
          VIEWER_JWKS_URL: `${cpUrl}/.well-known/jwks.json`,
          // Relay and agent share this machine: a desktop the agent reaches on loopback the
          // relay reaches too, so it dials it directly (dataplane/README.md, "Direct mode").
          RELAY_DIRECT_NETS: "127.0.0.0/8,::1",
        },
        opts,
        logDir,
      ),
    );
    progress("Starting the local agent…");
    children.push(
      launch(
        "agent",
        "agents",
        {
          ...common,
          AGENT_ID: "local-1",
          CONTROL_PLANE_URL: cpUrl,
          PLATFORM: "local",
          REGION: "local",
          MAX_SESSIONS: process.env.MAX_SESSIONS ?? "8",
          AGENT_DATA_DIR: join(dataDir, "agent"),
          AGENT_BOOTSTRAP_TOKEN: bootstrapToken,
          AGENT_HEALTH_PORT: String(agentHealthPort),
          AGENT_HEALTH_HOST: HOST,
          HEALTH_HOST: HOST,
          // npm start owns the whole machine-local system: Ctrl-C must leave no desktop behind.
          AGENT_STOP_SESSIONS_ON_EXIT: "true",
          AGENT_RELAY_DIRECT: "true",
        },
        opts,
        logDir,
      ),
    );
    progress("Waiting for the agent to connect…");
    await waitForHealth(
      `${cpUrl}/health`,
      children,
      120_000,
      (b) => (b.agents?.connected ?? 0) >= 1,
      opts.signal,
    );
    // The relay carries every viewer: the system is up only once it answers too.
    await waitForHealth(`${relayUrl}/health`, children, 120_000, () => true, opts.signal);
  } catch (err) {
    await stop(5_000);
    throw err;
  }
  const [cp, relay, agent] = children as [OwnedChild, OwnedChild, OwnedChild];
  const exited = Promise.race(children.map((c) => c.exited)).then(async (first) => {
    // Only an exit we did not ask for breaks the system; stop() never resolves this.
    if (stopping) await new Promise(() => {});
    return first;
  });
  return {
    url: cpUrl,
    username: "admin",
    password,
    pids: { controlPlane: cp.pid, relay: relay.pid, agent: agent.pid },
    logDir: opts.output === "files" ? logDir : undefined,
    exited,
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}
