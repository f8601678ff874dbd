/**
 * Agent configuration from the environment, validated once at start with the kit's zod shapes
 * (@streamspace/common/env). Any missing or malformed value throws a ConfigError whose message
 * is the one line main.ts prints before exiting: it names the variable and says what was
 * expected. Durations use the kit's one syntax (`250ms`, `2s`, `5m`, `2h`, `1d`); a bare number
 * stays seconds, as the agent has always read it.
 */
import { availableParallelism, totalmem } from "node:os";
import { join, resolve } from "node:path";
import {
  bool,
  ConfigError,
  custom,
  duration,
  list,
  parseDuration,
  parseEnv,
  port,
  str,
  url,
} from "@streamspace/common/env";
import type { LogLevel } from "@streamspace/common/log";
import { DEFAULT_DOCKER_HOST, PLATFORM_NAMES, type PlatformName } from "./drivers/open-driver.ts";

export { ConfigError };

/** The validated agent configuration. */
export interface AgentConfig {
  agentId: string;
  controlPlaneUrls: string[];
  platform: PlatformName;
  region: string;
  namespace: string;
  maxSessions: number;
  maxCpuMillis: bigint;
  maxMemoryBytes: bigint;
  labels: Record<string, string>;
  enableHa: boolean;
  haBackend: "redis" | "file" | "kubernetes";
  /** LEASE_KEY: the Redis key HA_BACKEND=redis elects with. */
  leaseKey: string;
  /** The Lease HA_BACKEND=kubernetes elects with (LEASE_LOCK_NAME in LEASE_LOCK_NAMESPACE). */
  leaseLockName: string;
  leaseLockNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  leaseFile: string;
  redisUrl?: string;
  bootstrapToken?: string;
  credential?: string;
  dataDir: string;
  healthPort: number;
  healthHost: string;
  logLevel: LogLevel;
  stopSessionsOnExit: boolean;
  /** DOCKER_HOST, NETWORK_PREFIX and KEEP_HOME_VOLUMES, for PLATFORM=docker. */
  dockerHost: string;
  networkPrefix: string;
  keepHomeVolumes: boolean;
  /**
   * Announce sessions' VNC endpoints to relays so those allowed to reach them (their
   * RELAY_DIRECT_NETS) dial them directly instead of through this agent (AGENT_RELAY_DIRECT).
   */
  relayDirect: boolean;
}

/** Parses "250ms", "2s", "1.5s", "1m", "2h", "1d", or plain seconds. */
export function parseDurationMs(raw: string): number | undefined {
  return parseDuration(raw, "s");
}

/** Parses Kubernetes-style quantities: CPU "2" / "500m" → millicores. */
export function parseCpuMillis(raw: string): bigint | undefined {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(raw.trim());
  if (!m) return undefined;
  return BigInt(Math.round(m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000));
}

const MEM_UNITS: Record<string, number> = {
  "": 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Parses memory quantities: "4Gi", "512Mi", "1G", plain bytes. */
export function parseMemoryBytes(raw: string): bigint | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(raw.trim());
  if (!m) return undefined;
  return BigInt(Math.round(Number(m[1]) * (MEM_UNITS[m[2] ?? ""] ?? 1)));
}

function parseLabels(raw: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const pair of raw.split(",")) {
    const m = /^\s*([A-Za-z0-9._/-]{1,63})=([^,]{0,63})\s*$/.exec(pair);
    if (!m) return undefined;
    out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}

const positive = (v: bigint | undefined) => (v !== undefined && v > 0n ? v : undefined);
const leaseDuration = () => duration({ min: 1, bareUnit: "s" });
/** One of fixed words; "a|b|c" is how the agent's messages have always listed them. */
const choice = <const T extends readonly string[]>(values: T, note = "") =>
  custom(`one of ${values.join("|")}${note}`, (s) =>
    values.includes(s) ? (s as T[number]) : undefined,
  );

/** Every variable the agent reads, with its schema; defaults are applied after parsing. */
const SHAPE = {
  AGENT_ID: str({
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    expected: "1-63 characters of letters, digits, '.', '_' or '-'",
  }),
  CONTROL_PLANE_URL: list(url(), {
    min: 1,
    expected: "a comma-separated list of http:// or https:// URLs",
  }),
  PLATFORM: choice(PLATFORM_NAMES).default("local"),
  REGION: str().default("default"),
  NAMESPACE: str({
    pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    expected: "a Kubernetes namespace name: lower-case letters, digits and '-', at most 63",
  }).default("streamspace"),
  MAX_SESSIONS: custom("an integer from 1 to 100000", (s) =>
    /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 100_000 ? Number(s) : undefined,
  ).default(10),
  MAX_CPU: custom('CPU cores such as "2" or "1500m"', (s) =>
    positive(parseCpuMillis(s)),
  ).optional(),
  MAX_MEMORY: custom('bytes or a quantity such as "4Gi" or "512Mi"', (s) =>
    positive(parseMemoryBytes(s)),
  ).optional(),
  AGENT_LABELS: custom(
    'comma-separated key=value pairs, e.g. "gpu=none,zone=a"',
    parseLabels,
  ).optional(),
  ENABLE_HA: bool().default(false),
  HA_BACKEND: choice(["redis", "file", "kubernetes"] as const).default("file"),
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  // Defaults depend on HA_BACKEND (see loadConfig), so these are optional here.
  LEASE_DURATION: leaseDuration().optional(),
  RENEW_DEADLINE: leaseDuration().optional(),
  RETRY_PERIOD: leaseDuration().optional(),
  LEASE_LOCK_NAME: str({
    pattern: /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/,
    expected: "a Kubernetes object name: lower-case letters, digits, '-' and '.'",
  }).optional(),
  LEASE_LOCK_NAMESPACE: str().optional(),
  HA_LEASE_FILE: str().optional(),
  // The names the Docker agent's documentation (and its seeds) use; HA_LEASE_FILE wins if both.
  LEASE_FILE: str().optional(),
  LEASE_KEY: str({
    pattern: /^[A-Za-z0-9:._{}-]{1,200}$/,
    expected: "a Redis key of letters, digits and : . _ - { }",
  }).optional(),
  DOCKER_HOST: custom("unix:///path/to/docker.sock or tcp://host:port", (s) =>
    /^unix:\/\/\/.+/.test(s) || /^tcp:\/\/[^/:]+:\d{1,5}\/?$/.test(s) ? s : undefined,
  ).default(DEFAULT_DOCKER_HOST),
  NETWORK_PREFIX: str({
    pattern: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/,
    expected:
      "1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
  }).default("streamspace"),
  KEEP_HOME_VOLUMES: bool().default(false),
  AGENT_BOOTSTRAP_TOKEN: str().optional(),
  AGENT_CREDENTIAL: str().optional(),
  AGENT_DATA_DIR: str().optional(),
  AGENT_HEALTH_PORT: port().default(8082),
  // Loopback unless the operator opens it: inside a container or pod set 0.0.0.0 for probes.
  AGENT_HEALTH_HOST: str().default("127.0.0.1"),
  AGENT_STOP_SESSIONS_ON_EXIT: bool().default(false),
  AGENT_RELAY_DIRECT: bool().default(false),
  LOG_LEVEL: choice(["debug", "info", "warn", "error"] as const).default("info"),
};

/** The variables the agent reads (agents/README.md lists each with its meaning). */
export const AGENT_ENV_VARIABLES: readonly string[] = Object.keys(SHAPE);

/** LEASE_LOCK_NAME when unset: one Lease per agent id, named so Kubernetes accepts it. */
export function defaultLeaseName(agentId: string): string {
  const safe = agentId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "");
  return `streamspace-agent-${safe || "agent"}`.slice(0, 63).replace(/-+$/, "");
}

/** Reads and validates the whole configuration; throws ConfigError on the first bad variable. */
export function loadConfig(
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
): AgentConfig {
  // Named by the seeds for Docker agents, so it gets its own line rather than "one of …".
  if (env.HA_BACKEND?.trim() === "swarm")
    throw ConfigError.invalid(
      "HA_BACKEND",
      "swarm",
      "redis, file or kubernetes: HA_BACKEND=swarm is not built (Podman, which the Docker driver is tested on, has no Swarm); use HA_BACKEND=redis for replicas on several hosts",
    );
  const e = parseEnv(SHAPE, env);
  if (e.ENABLE_HA && e.HA_BACKEND === "redis" && !e.REDIS_URL)
    throw ConfigError.invalid("REDIS_URL", undefined, "a redis:// URL because HA_BACKEND=redis");
  // A Kubernetes Lease keeps client-go's (and the seeds') timing: 15 s / 10 s / 2 s.
  const kube = e.HA_BACKEND === "kubernetes";
  const leaseDurationMs = e.LEASE_DURATION ?? (kube ? 15_000 : 2_000);
  const renewDeadlineMs = e.RENEW_DEADLINE ?? (kube ? 10_000 : 1_500);
  const retryPeriodMs = e.RETRY_PERIOD ?? (kube ? 2_000 : 250);
  if (renewDeadlineMs >= leaseDurationMs)
    throw ConfigError.invalid(
      "RENEW_DEADLINE",
      env.RENEW_DEADLINE,
      `less than LEASE_DURATION (${leaseDurationMs} ms)`,
    );
  if (retryPeriodMs >= renewDeadlineMs)
    throw ConfigError.invalid(
      "RETRY_PERIOD",
      env.RETRY_PERIOD,
      `less than RENEW_DEADLINE (${renewDeadlineMs} ms)`,
    );
  const dataDir = resolve(cwd, e.AGENT_DATA_DIR ?? join(".data", `agent-${e.AGENT_ID}`));
  return {
    agentId: e.AGENT_ID,
    controlPlaneUrls: e.CONTROL_PLANE_URL.map((u) => u.replace(/\/+$/, "")),
    platform: e.PLATFORM,
    region: e.REGION,
    namespace: e.NAMESPACE,
    maxSessions: e.MAX_SESSIONS,
    maxCpuMillis: e.MAX_CPU ?? BigInt(availableParallelism() * 1000),
    maxMemoryBytes: e.MAX_MEMORY ?? BigInt(totalmem()),
    labels: e.AGENT_LABELS ?? {},
    enableHa: e.ENABLE_HA,
    haBackend: e.HA_BACKEND,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    leaseFile: resolve(cwd, e.HA_LEASE_FILE ?? e.LEASE_FILE ?? join(dataDir, "leader.lease")),
    leaseKey: e.LEASE_KEY ?? `streamspace:agent-lease:${e.AGENT_ID}`,
    leaseLockName: e.LEASE_LOCK_NAME ?? defaultLeaseName(e.AGENT_ID),
    leaseLockNamespace: e.LEASE_LOCK_NAMESPACE ?? e.NAMESPACE,
    redisUrl: e.REDIS_URL,
    bootstrapToken: e.AGENT_BOOTSTRAP_TOKEN,
    credential: e.AGENT_CREDENTIAL,
    dataDir,
    healthPort: e.AGENT_HEALTH_PORT,
    healthHost: e.AGENT_HEALTH_HOST,
    logLevel: e.LOG_LEVEL,
    stopSessionsOnExit: e.AGENT_STOP_SESSIONS_ON_EXIT,
    dockerHost: e.DOCKER_HOST,
    networkPrefix: e.NETWORK_PREFIX,
    keepHomeVolumes: e.KEEP_HOME_VOLUMES,
    relayDirect: e.AGENT_RELAY_DIRECT,
  };
}
