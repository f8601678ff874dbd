/**
 * Control-plane configuration, read once from the environment at start-up (DESIGN.md §7) with
 * the kit's zod schemas: a missing or malformed value stops the process with one line naming
 * the variable and what it expected. Every value has a single-node default so `npm start`
 * needs nothing set.
 *
 * VNC_PROXY_TIMEOUT is not read here. Idle viewers are the relay's business: it reads that
 * variable and closes an idle viewer with WebSocket code 4408, which tells the browser to
 * reconnect. This pod's `/vnc/` pass-through (single-process start only) carries the relay's
 * bytes unchanged; closing idle tunnels here as well would cut the TCP connection without a
 * close frame, with a second default racing the relay's.
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import {
  bool,
  ConfigError,
  custom,
  type EnvOf,
  int,
  list,
  oneOf,
  parseDuration,
  parseEnv,
  str,
} from "@streamspace/common/env";
import type { LogLevel } from "@streamspace/common/log";
import { z } from "zod";
import type { RateLimits } from "./edge/rate-limiter.ts";

export interface ControlPlaneConfig {
  host: string;
  port: number;
  podName: string;
  logLevel: LogLevel;
  dataDir: string;
  /** Postgres URL; undefined means embedded PGlite in `${dataDir}/pglite`. */
  databaseUrl: string | undefined;
  /** Deadline of one Postgres statement on the serving pool (store/deadline-pool.ts). */
  databaseQueryTimeoutMs: number;
  redisUrl: string | undefined;
  hubBackend: "memory" | "redis";
  /** Undefined means: generate one and keep it in the data folder (single node only). */
  jwtSecret: string | undefined;
  adminPassword: string | undefined;
  agentHeartbeatTimeoutMs: number;
  agentHeartbeatIntervalMs: number;
  agentBootstrapToken: string | undefined;
  agentAutoApprove: boolean;
  /** Static relay members "id=url,id=url" or "url,url"; empty with Redis means discover. */
  relayUrls: string[];
  /** Where `/vnc/*` upgrades on this port are forwarded (single-process start). */
  vncRelayProxy: string | undefined;
  signingKeyFile: string | undefined;
  webDist: string;
  drainTimeoutMs: number;
  /** Requests per second per user and per API key, per pod (0 = no limit). */
  rateLimits: RateLimits;
  /** Concurrent AgentGateway streams one agent credential may hold on one pod. */
  agentMaxStreamsPerCredential: number;
}

/** A duration; a bare number counts as seconds, so deployments that set `30` keep working. */
const seconds = () =>
  custom("a duration like 30s, 500ms, 5m, 2h or 1d (a bare number is seconds)", (s) =>
    parseDuration(s, "s"),
  );

/** A URL with one of the given schemes, kept as written. */
const urlOf = (...protocols: string[]) =>
  custom(`a ${protocols.join(" or ")} URL`, (s) =>
    URL.canParse(s) && protocols.includes(new URL(s).protocol) ? s : undefined,
  );

/** Secrets and passwords are taken byte for byte: trimming one would change it. */
const secret = () => z.string().optional();

const SHAPE = {
  HOST: str().default("0.0.0.0"),
  PORT: int(0, 65_535).default(8080),
  POD_NAME: str().optional(),
  LOG_LEVEL: oneOf(["debug", "info", "warn", "error"]).default("info"),
  DATA_DIR: str().default(".data/control-plane"),
  DATABASE_URL: urlOf("postgres:", "postgresql:").optional(),
  DB_HOST: str().optional(),
  DB_PORT: int(1, 65_535).default(5432),
  DB_NAME: str().default("streamspace"),
  DB_USER: str().default("streamspace"),
  DB_PASSWORD: secret(),
  DB_QUERY_TIMEOUT: seconds().default(15_000),
  REDIS_URL: urlOf("redis:", "rediss:").optional(),
  AGENT_HUB_BACKEND: oneOf(["memory", "redis"]).optional(),
  JWT_SECRET: secret(),
  ADMIN_PASSWORD: secret(),
  AGENT_HEARTBEAT_TIMEOUT: seconds().default(30_000),
  AGENT_HEARTBEAT_INTERVAL: seconds().default(10_000),
  AGENT_BOOTSTRAP_TOKEN: secret(),
  AGENT_AUTO_APPROVE: bool().default(false),
  RELAY_URLS: list().default([]),
  VNC_RELAY_PROXY: urlOf("http:", "https:").optional(),
  SIGNING_KEY_FILE: str().optional(),
  WEB_DIST: str().optional(),
  DRAIN_TIMEOUT: seconds().default(25_000),
  RATE_LIMIT_USER_RPS: int(0, 1_000_000).default(100),
  RATE_LIMIT_USER_BURST: int(1, 1_000_000).default(200),
  RATE_LIMIT_API_KEY_RPS: int(0, 1_000_000).default(100),
  RATE_LIMIT_API_KEY_BURST: int(1, 1_000_000).default(200),
  AGENT_MAX_STREAMS_PER_CREDENTIAL: int(1, 1000).default(2),
};

function databaseUrlFrom(env: EnvOf<typeof SHAPE>): string | undefined {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  if (!env.DB_HOST) return undefined;
  const auth = env.DB_PASSWORD
    ? `${encodeURIComponent(env.DB_USER)}:${encodeURIComponent(env.DB_PASSWORD)}`
    : encodeURIComponent(env.DB_USER);
  return `postgres://${auth}@${env.DB_HOST}:${env.DB_PORT}/${encodeURIComponent(env.DB_NAME)}`;
}

/** Parses the environment; throws ConfigError with one line naming the bad variable. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
): ControlPlaneConfig {
  const e = parseEnv(SHAPE, env);
  const hubBackend = e.AGENT_HUB_BACKEND ?? (e.REDIS_URL ? "redis" : "memory");
  if (hubBackend === "redis" && !e.REDIS_URL) {
    throw new ConfigError(
      "AGENT_HUB_BACKEND=redis needs REDIS_URL (for example redis://127.0.0.1:6379).",
      "REDIS_URL",
    );
  }
  if (e.JWT_SECRET !== undefined && e.JWT_SECRET.length < 32) {
    throw new ConfigError(
      "JWT_SECRET is too short: expected at least 32 characters of random text.",
      "JWT_SECRET",
    );
  }
  if (hubBackend === "redis" && e.JWT_SECRET === undefined) {
    throw new ConfigError(
      "JWT_SECRET is required with several pods (AGENT_HUB_BACKEND=redis): every pod must share it.",
      "JWT_SECRET",
    );
  }
  return {
    host: e.HOST,
    port: e.PORT,
    podName: e.POD_NAME ?? `${hostname()}-${process.pid}`,
    logLevel: e.LOG_LEVEL,
    dataDir: resolve(e.DATA_DIR),
    databaseUrl: databaseUrlFrom(e),
    databaseQueryTimeoutMs: e.DB_QUERY_TIMEOUT,
    redisUrl: e.REDIS_URL,
    hubBackend,
    jwtSecret: e.JWT_SECRET,
    adminPassword: e.ADMIN_PASSWORD,
    agentHeartbeatTimeoutMs: e.AGENT_HEARTBEAT_TIMEOUT,
    agentHeartbeatIntervalMs: e.AGENT_HEARTBEAT_INTERVAL,
    agentBootstrapToken: e.AGENT_BOOTSTRAP_TOKEN,
    agentAutoApprove: e.AGENT_AUTO_APPROVE,
    relayUrls: e.RELAY_URLS,
    vncRelayProxy: e.VNC_RELAY_PROXY,
    signingKeyFile: e.SIGNING_KEY_FILE,
    webDist: resolve(e.WEB_DIST ?? new URL("../../web/dist", import.meta.url).pathname),
    drainTimeoutMs: e.DRAIN_TIMEOUT,
    rateLimits: {
      user: { perSecond: e.RATE_LIMIT_USER_RPS, burst: e.RATE_LIMIT_USER_BURST },
      apiKey: { perSecond: e.RATE_LIMIT_API_KEY_RPS, burst: e.RATE_LIMIT_API_KEY_BURST },
    },
    agentMaxStreamsPerCredential: e.AGENT_MAX_STREAMS_PER_CREDENTIAL,
  };
}
