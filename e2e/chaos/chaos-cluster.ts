/**
 * The chaos suite's world: the local cluster (deploy/local/cluster.ts: 3 control-plane pods,
 * 3 relays behind HAProxy, real Postgres and Redis), scripted agents for scale (e2e/sim-agent.ts,
 * region "sim", in this process) and real agents with real desktops (agents/src/main.ts, local
 * driver, `builtin:demo`, region "real", each its own process so it can be SIGKILLed and
 * SIGSTOPped), a steady load of create/stop/hibernate/wake, and viewers reading frames from the
 * real agents' desktops through the relays. Everything it starts is owned and stopped by
 * stop(), even when an assertion failed.
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { WebSocket } from "ws";
import { type LocalCluster, startLocalCluster } from "../../deploy/local/cluster.ts";
import { type OwnedChild, spawnOwned } from "../../scripts/owned-child.ts";
import { freePort } from "../../scripts/services.ts";
import { SimAgent } from "../sim-agent.ts";
import { type Partition, setUpPartition } from "./partition.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const BOOT = "chaos-bootstrap-token";
/** Heartbeats every 2 s, silence cut after 6 s: faults are noticed within a test's patience. */
export const HEARTBEAT_TIMEOUT_MS = 6_000;

/** A real agent process; restart() brings it back with the same id and data folder. */
export interface RealAgent {
  id: string;
  owned: OwnedChild;
  log(): string;
  restart(): Promise<void>;
}

/** A viewer of one session, counting bytes and remembering how it ended. */
export interface ChaosViewer {
  sessionId: string;
  bytes: number;
  closed?: { code: number; at: number };
  ws: WebSocket;
}

export interface ChaosWorld extends AsyncDisposable {
  cluster: LocalCluster;
  /** Present when the world was started with `partition`: cp-3 runs behind it. */
  partition?: Partition;
  sims: SimAgent[];
  /** The options each scripted agent was made with, to bring one back after a fault. */
  simOptions: ConstructorParameters<typeof SimAgent>[0][];
  reals: RealAgent[];
  viewers: ChaosViewer[];
  sessions: () => Client<typeof SessionService>;
  admin: { headers: { authorization: string }; timeoutMs: number };
  /** Starts start-commands executed per session by the scripted agents (must stay ≤ 1). */
  startsExecuted: Map<string, Set<string>>;
  /** Runs the load until stopLoad(); counts outcomes by code. */
  startLoad(opsPerSecond: number): void;
  stopLoad(): Promise<void>;
  outcomes: Map<string, number>;
  /**
   * Client-side failures nobody awaited (connect-node's session manager reports a refused
   * connection to a killed pod this way): recorded for the report, not fatal to the run.
   */
  clientErrors: string[];
  /**
   * Any other uncaught error in this process (the harness's own fault): recorded, reported as
   * a violation of the fault during which it happened, and the run goes on to its summary.
   */
  harnessErrors: string[];
  /** Where each process's log tail is written when it exits. */
  logDir: string;
  /** Opens a viewer on a running real-agent session through the relay front. */
  openViewer(sessionId: string): Promise<ChaosViewer>;
  /** Stops everything; `keepLogs` leaves logDir for a post-mortem. */
  stop(opts?: { keepLogs?: boolean }): Promise<void>;
}

/** Sets up the world; `sims` scripted agents and `reals` real ones. */
export async function startChaosWorld(opts: {
  sims: number;
  reals: number;
  /** Runs the third pod in its own network namespace, so it can be partitioned. */
  partition?: boolean;
}): Promise<ChaosWorld> {
  const dir = mkdtempSync(join(tmpdir(), "ss-chaos-"));
  const partition = opts.partition ? setUpPartition() : undefined;
  const cluster = await startLocalCluster({
    placeControlPlane: (id, env) =>
      partition && id === "cp-3"
        ? {
            prefix: partition.prefix,
            host: partition.podAddr,
            env: {
              ...env,
              DATABASE_URL: partition.fromPod(env.DATABASE_URL ?? ""),
              REDIS_URL: partition.fromPod(env.REDIS_URL ?? ""),
            },
          }
        : undefined,
    controlPlanes: 3,
    relays: 3,
    logDir: dir,
    env: {
      AGENT_BOOTSTRAP_TOKEN: BOOT,
      AGENT_AUTO_APPROVE: "true",
      AGENT_HEARTBEAT_INTERVAL: "2s",
      AGENT_HEARTBEAT_TIMEOUT: `${HEARTBEAT_TIMEOUT_MS / 1000}s`,
      RATE_LIMIT_USER_RPS: "0",
      LOG_LEVEL: "warn",
    },
  });
  const managers = new Map<string, Http2SessionManager>();
  const transportFor = (url: string): Transport => {
    let m = managers.get(url);
    if (!m) {
      m = new Http2SessionManager(url, { pingIntervalMs: 2_000, pingTimeoutMs: 2_000 });
      managers.set(url, m);
    }
    return createGrpcTransport({ baseUrl: url, sessionManager: m });
  };
  const pods = cluster.controlPlanes.map((c) => c.url);
  let next = 0;
  /** A client on the next pod, round robin, so a dead pod costs one call, not the run. */
  const sessions = () => createClient(SessionService, transportFor(pods[next++ % pods.length]!));
  // Every call has a deadline: a pod that hangs (as one did after a partition healed) must
  // cost the run an error, not the rest of the run.
  const admin = { headers: { authorization: "" }, timeoutMs: 15_000 };
  /** Access tokens live 15 minutes; the long run signs in again when told it expired. */
  const signIn = async () => {
    for (const url of pods) {
      try {
        const r = await createClient(AuthService, transportFor(url)).login({
          username: "admin",
          password: "admin-password-local",
        });
        admin.headers.authorization = `Bearer ${r.tokens?.accessToken}`;
        return;
      } catch {}
    }
  };
  await signIn();

  const startsExecuted = new Map<string, Set<string>>();
  const simOptions = Array.from(
    { length: opts.sims },
    (_, i): ConstructorParameters<typeof SimAgent>[0] => ({
      id: `sim-${i}`,
      pods,
      first: i,
      region: "sim",
      bootstrapToken: BOOT,
      transportFor,
      maxSessions: 50,
      onCommand: (c) => {
        if (c.action.case !== "startSession") return;
        const set = startsExecuted.get(c.action.value.sessionId) ?? new Set<string>();
        set.add(c.commandId);
        startsExecuted.set(c.action.value.sessionId, set);
      },
    }),
  );
  const sims = simOptions.map((o) => new SimAgent(o));
  for (const s of sims) s.start();

  const reals: RealAgent[] = [];
  for (let i = 0; i < opts.reals; i++) reals.push(await startRealAgent(`real-${i}`, pods, dir));

  const viewers: ChaosViewer[] = [];
  const clientErrors: string[] = [];
  const onUnhandled = (reason: unknown) => clientErrors.push(String(reason).slice(0, 200));
  // connect-node's session manager can throw a refused connection to a killed pod from an
  // event handler; for this client it is an outcome of the fault, not a reason to stop.
  const harnessErrors: string[] = [];
  const onUncaught = (err: unknown) => {
    // Duck-typed: the library's ConnectError may come from another copy of the package.
    if (/ECONNREFUSED|ECONNRESET|\[unavailable\]/.test(String(err))) onUnhandled(err);
    else harnessErrors.push((err instanceof Error && err.stack) || String(err));
  };
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUncaught);
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  let loading: Promise<void> | undefined;
  let loadOn = false;

  /** One random operation on a random session (or a create). */
  async function op(): Promise<void> {
    const c = sessions();
    const roll = Math.random();
    try {
      if (roll < 0.35) {
        await c.createSession({ template: "demo-desktop", region: "sim" }, admin);
      } else {
        const page = await c.listSessions({ pageSize: 100 }, admin);
        // Lifecycle load runs on the scripted agents' sessions; the real desktops keep their
        // viewers, so a viewer that closes was interrupted, not stopped on purpose.
        const live = page.sessions.filter(
          (s) =>
            s.agentId.startsWith("sim-") &&
            (s.state === SessionState.RUNNING || s.state === SessionState.HIBERNATED),
        );
        const s = live[Math.floor(Math.random() * live.length)];
        if (!s) return;
        if (s.state === SessionState.HIBERNATED) await c.wakeSession({ id: s.id }, admin);
        else if (roll < 0.6) await c.hibernateSession({ id: s.id }, admin);
        else await c.stopSession({ id: s.id }, admin);
      }
      count("ok");
    } catch (err) {
      const code = ConnectError.from(err).code;
      if (code === Code.Unauthenticated) await signIn();
      count(Code[code]);
    }
  }

  const world: ChaosWorld = {
    cluster,
    partition,
    sims,
    simOptions,
    reals,
    viewers,
    sessions,
    admin,
    startsExecuted,
    outcomes,
    clientErrors,
    harnessErrors,
    logDir: dir,
    startLoad(opsPerSecond) {
      loadOn = true;
      loading = (async () => {
        while (loadOn) {
          const started = performance.now();
          await Promise.all(Array.from({ length: opsPerSecond }, op));
          const rest = 1000 - (performance.now() - started);
          if (rest > 0) await new Promise((r) => setTimeout(r, rest));
        }
      })();
    },
    async stopLoad() {
      loadOn = false;
      await loading;
    },
    async openViewer(sessionId) {
      const { token: t } = await sessions().createViewerToken({ sessionId }, admin);
      const ws = new WebSocket(
        `${cluster.relayFrontUrl.replace("http", "ws")}/vnc/${sessionId}?token=${t}`,
        ["binary"],
      );
      const v: ChaosViewer = { sessionId, bytes: 0, ws };
      ws.on("message", (d: Buffer) => {
        v.bytes += d.length;
      });
      ws.on("error", () => {});
      ws.on("close", (code) => {
        v.closed = { code, at: Date.now() };
      });
      viewers.push(v);
      return v;
    },
    async stop(opts = {}) {
      loadOn = false;
      await loading;
      for (const v of viewers) v.ws.terminate();
      await Promise.all(sims.map((s) => s.stop()));
      await Promise.all(reals.map((r) => r.owned.stop({ graceMs: 5_000 })));
      for (const m of managers.values()) m.abort();
      await cluster.stop();
      await partition?.close();
      process.off("unhandledRejection", onUnhandled);
      process.off("uncaughtException", onUncaught);
      if (!opts.keepLogs) rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => world.stop(),
  };
  return world;
}

/** Starts one real agent (local driver) that dials every pod; its stderr goes to a file. */
async function startRealAgent(id: string, pods: string[], dir: string): Promise<RealAgent> {
  const healthPort = await freePort();
  const logFile = join(dir, `${id}.log`);
  const data = join(dir, id);
  const spawn = () => {
    const o = spawnOwned(id, process.execPath, ["--import", "tsx", "agents/src/main.ts"], {
      cwd: ROOT,
      node: true,
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        AGENT_ID: id,
        CONTROL_PLANE_URL: pods.join(","),
        PLATFORM: "local",
        REGION: "real",
        MAX_SESSIONS: "3",
        AGENT_BOOTSTRAP_TOKEN: BOOT,
        AGENT_DATA_DIR: data,
        AGENT_HEALTH_PORT: String(healthPort),
        AGENT_HEALTH_HOST: "127.0.0.1",
        // A clean stop ends its desktops, so the suite leaves no desktop behind.
        AGENT_STOP_SESSIONS_ON_EXIT: "true",
        LOG_LEVEL: "info",
      },
    });
    let text = "";
    o.child.stderr?.on("data", (d) => {
      text = (text + d).slice(-200_000);
    });
    // Each life of the agent is appended beside the cluster's logs, for a post-mortem.
    void o.exited.then(() => {
      try {
        appendFileSync(logFile, text);
      } catch {}
    });
    return { o, text: () => text };
  };
  let current = spawn();
  const a: RealAgent = {
    id,
    owned: current.o,
    log: () => current.text(),
    async restart() {
      await a.owned.stop({ signal: "SIGKILL" });
      current = spawn();
      a.owned = current.o;
    },
  };
  return a;
}
