/**
 * The whole system on one machine with embedded defaults (DESIGN.md §6): one control-plane
 * process (PGlite in the data folder, in-memory hub), one relay, one local agent, each a child
 * process of ours so that stopping us stops them. Used by `npm start` and by e2e tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DATA_PATH_NODE_FLAGS } from "@streamspace/common/node-flags";
import { freePort } from "./services.ts";

export interface LocalSystemOptions {
  dataDir?: string;
  port?: number;
  relayPort?: number;
  agentHealthPort?: number;
  /** Where child output goes; "inherit" for `npm start`, a function for tests. */
  output?: "inherit" | ((name: string, line: string) => void);
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
}

/** Three free loopback ports, so tests can start several systems beside a running `npm start`. */
export async function freePorts(): Promise<{
  port: number;
  relayPort: number;
  agentHealthPort: number;
}> {
  return { port: await freePort(), relayPort: await freePort(), agentHealthPort: await freePort() };
}

export interface LocalSystem {
  url: string;
  username: string;
  password: string;
  pids: Record<string, number>;
  /** SIGTERM to every child, waits for them, SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const ROOT = resolve(new URL("..", import.meta.url).pathname);

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

function child(
  name: string,
  script: string,
  env: Record<string, string>,
  output: LocalSystemOptions["output"],
  bundled: LocalSystemOptions["bundled"] = [],
): ChildProcess {
  const deployable = script.split("/")[0] as "control-plane" | "dataplane" | "agents";
  // The relay and the agent carry VNC bytes: size their young generation for it.
  const flags = deployable === "control-plane" ? [] : [...DATA_PATH_NODE_FLAGS];
  const args = bundled.includes(deployable)
    ? [...flags, join(deployable, "dist/main.mjs")]
    : [...flags, "--import", "tsx", script];
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: output === "inherit" ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
  });
  if (typeof output === "function") {
    for (const s of [proc.stdout, proc.stderr]) {
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
  return proc;
}

type Health = { agents?: { connected?: number } };

/** Polls a health URL until `ok` accepts its JSON; fails early when a child exits. */
async function waitFor(
  url: string,
  children: ChildProcess[],
  timeoutMs: number,
  ok: (body: Health) => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead) {
      throw new Error(
        `a StreamSpace process exited during start-up (${dead.spawnargs.at(-1)}, code ${dead.exitCode}); see its log above.`,
      );
    }
    try {
      const body = (await (await fetch(url)).json()) as Health;
      if (ok(body)) return;
      last = JSON.stringify(body);
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s; last answer: ${last}`);
}

/** Starts control plane, relay and agent; resolves when /health shows the agent connected. */
export async function startLocalSystem(opts: LocalSystemOptions = {}): Promise<LocalSystem> {
  const dataDir = resolve(opts.dataDir ?? join(ROOT, ".data"));
  mkdirSync(dataDir, { recursive: true });
  const port = opts.port ?? 8080;
  const relayPort = opts.relayPort ?? 8081;
  const agentHealthPort = opts.agentHealthPort ?? 8082;
  const password =
    process.env.ADMIN_PASSWORD ??
    persistentSecret(join(dataDir, "admin-password"), () => randomBytes(9).toString("base64url"));
  const jwtSecret = persistentSecret(join(dataDir, "jwt-secret"), () =>
    randomBytes(32).toString("base64url"),
  );
  const bootstrapToken = randomBytes(24).toString("base64url");
  const cpUrl = `http://127.0.0.1:${port}`;
  const relayUrl = `http://127.0.0.1:${relayPort}`;
  const common = {
    ...inheritedEnv(opts.callerStore ?? false),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    ...opts.env,
  };

  const cp = child(
    "control-plane",
    "control-plane/src/main.ts",
    {
      ...common,
      HOST: "127.0.0.1",
      PORT: String(port),
      POD_NAME: "control-plane-0",
      DATA_DIR: join(dataDir, "control-plane"),
      ADMIN_PASSWORD: password,
      JWT_SECRET: jwtSecret,
      AGENT_BOOTSTRAP_TOKEN: bootstrapToken,
      AGENT_AUTO_APPROVE: "true",
      RELAY_URLS: `relay-0=${relayUrl}`,
      VNC_RELAY_PROXY: relayUrl,
    },
    opts.output,
    opts.bundled,
  );
  // Agent and relay dial the control plane; start them once it answers so their first dial
  // succeeds instead of waiting out a backoff.
  try {
    await waitFor(`${cpUrl}/health`, [cp], 60_000, () => true);
  } catch (err) {
    cp.kill("SIGKILL");
    throw err;
  }
  const relay = child(
    "relay",
    "dataplane/src/main.ts",
    {
      ...common,
      HOST: "127.0.0.1",
      PORT: String(relayPort),
      RELAY_ID: "relay-0",
      RELAY_PUBLIC_URL: relayUrl,
      RELAY_STATIC_MEMBERS: `relay-0=${relayUrl}`,
      VIEWER_JWKS_URL: `${cpUrl}/.well-known/jwks.json`,
    },
    opts.output,
    opts.bundled,
  );
  const agent = child(
    "agent",
    "agents/src/main.ts",
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
      // npm start owns the whole machine-local system: Ctrl-C must leave no desktop behind.
      AGENT_STOP_SESSIONS_ON_EXIT: "true",
    },
    opts.output,
    opts.bundled,
  );
  const children = [agent, relay, cp];

  const stop = async (graceMs = 30_000) => {
    // Agent first (it stops its desktops), then relay, then the control plane.
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill("SIGTERM");
      const exited = new Promise<void>((r) => c.once("exit", () => r()));
      const timer = setTimeout(() => c.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    await waitFor(`${cpUrl}/health`, children, 60_000, (b) => (b.agents?.connected ?? 0) >= 1);
  } catch (err) {
    await stop(5_000);
    throw err;
  }
  return {
    url: cpUrl,
    username: "admin",
    password,
    pids: { controlPlane: cp.pid!, relay: relay.pid!, agent: agent.pid! },
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}
