/**
 * Control-plane configuration, read once from the environment at start-up (DESIGN.md §7).
 * Every value has a single-node default so `npm start` needs nothing set.
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import { bool, ConfigError, duration, int, oneOf, optStr, str, url } from "./env.ts";

export interface ControlPlaneConfig {
  host: string;
  port: number;
  podName: string;
  logLevel: "debug" | "info" | "warn" | "error";
  dataDir: string;
  /** Postgres URL; undefined means embedded PGlite in `${dataDir}/pglite`. */
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  hubBackend: "memory" | "redis";
  /** Undefined means: generate one and keep it in the data folder (single node only). */
  jwtSecret: string | undefined;
  adminPassword: string | undefined;
  agentHeartbeatTimeoutMs: number;
  agentHeartbeatIntervalMs: number;
  vncProxyTimeoutMs: number;
  agentBootstrapToken: string | undefined;
  agentAutoApprove: boolean;
  /** Static relay members "id=url,id=url" or "url,url"; empty with Redis means discover. */
  relayUrls: string[];
  /** Where `/vnc/*` upgrades on this port are forwarded (single-process start). */
  vncRelayProxy: string | undefined;
  signingKeyFile: string | undefined;
  webDist: string;
  drainTimeoutMs: number;
}

function databaseUrlFrom(env: Record<string, string | undefined>): string | undefined {
  const direct = optStr(env, "DATABASE_URL");
  if (direct) return url(env, "DATABASE_URL", ["postgres:", "postgresql:"]);
  const host = optStr(env, "DB_HOST");
  if (!host) return undefined;
  const port = int(env, "DB_PORT", 5432, 1, 65535);
  const name = str(env, "DB_NAME", "streamspace");
  const user = str(env, "DB_USER", "streamspace");
  const password = optStr(env, "DB_PASSWORD");
  const auth = password
    ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}`
    : encodeURIComponent(user);
  return `postgres://${auth}@${host}:${port}/${encodeURIComponent(name)}`;
}

/** Parses the environment; throws ConfigError with one line naming the bad variable. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
): ControlPlaneConfig {
  const redisUrl = optStr(env, "REDIS_URL")
    ? url(env, "REDIS_URL", ["redis:", "rediss:"])
    : undefined;
  const hubBackend = oneOf(
    env,
    "AGENT_HUB_BACKEND",
    ["memory", "redis"],
    redisUrl ? "redis" : "memory",
  );
  if (hubBackend === "redis" && !redisUrl) {
    throw new ConfigError(
      "AGENT_HUB_BACKEND=redis needs REDIS_URL (for example redis://127.0.0.1:6379).",
    );
  }
  const jwtSecret = optStr(env, "JWT_SECRET");
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    throw new ConfigError(
      "JWT_SECRET is too short: expected at least 32 characters of random text.",
    );
  }
  if (hubBackend === "redis" && jwtSecret === undefined) {
    throw new ConfigError(
      "JWT_SECRET is required with several pods (AGENT_HUB_BACKEND=redis): every pod must share it.",
    );
  }
  const relayUrls = (optStr(env, "RELAY_URLS") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    host: str(env, "HOST", "0.0.0.0"),
    port: int(env, "PORT", 8080, 0, 65535),
    podName: str(env, "POD_NAME", `${hostname()}-${process.pid}`),
    logLevel: oneOf(env, "LOG_LEVEL", ["debug", "info", "warn", "error"], "info"),
    dataDir: resolve(str(env, "DATA_DIR", ".data/control-plane")),
    databaseUrl: databaseUrlFrom(env),
    redisUrl,
    hubBackend,
    jwtSecret,
    adminPassword: optStr(env, "ADMIN_PASSWORD"),
    agentHeartbeatTimeoutMs: duration(env, "AGENT_HEARTBEAT_TIMEOUT", 30_000),
    agentHeartbeatIntervalMs: duration(env, "AGENT_HEARTBEAT_INTERVAL", 10_000),
    vncProxyTimeoutMs: duration(env, "VNC_PROXY_TIMEOUT", 300_000),
    agentBootstrapToken: optStr(env, "AGENT_BOOTSTRAP_TOKEN"),
    agentAutoApprove: bool(env, "AGENT_AUTO_APPROVE", false),
    relayUrls,
    vncRelayProxy: optStr(env, "VNC_RELAY_PROXY")
      ? url(env, "VNC_RELAY_PROXY", ["http:", "https:"])
      : undefined,
    signingKeyFile: optStr(env, "SIGNING_KEY_FILE"),
    webDist: resolve(str(env, "WEB_DIST", new URL("../../web/dist", import.meta.url).pathname)),
    drainTimeoutMs: duration(env, "DRAIN_TIMEOUT", 25_000),
  };
}
