/**
 * Agent configuration from the environment, validated once at start. Any missing or malformed
 * value throws a ConfigError whose message is the one line main.ts prints before exiting: it
 * names the variable and says what was expected.
 */
import { availableParallelism, totalmem } from "node:os";
import { join, resolve } from "node:path";

/** One bad variable; `message` is a complete sentence for the operator. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    got: string | undefined,
  ) {
    super(
      `${variable} ${got === undefined ? "is missing" : `is ${JSON.stringify(got)}`}: expected ${expected}`,
    );
    this.name = "ConfigError";
  }
}

/** The validated agent configuration. */
export interface AgentConfig {
  agentId: string;
  controlPlaneUrls: string[];
  platform: "local" | "docker" | "kubernetes";
  region: string;
  namespace: string;
  maxSessions: number;
  maxCpuMillis: bigint;
  maxMemoryBytes: bigint;
  labels: Record<string, string>;
  enableHa: boolean;
  haBackend: "redis" | "file" | "kubernetes";
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
  logLevel: "debug" | "info" | "warn" | "error";
  stopSessionsOnExit: boolean;
}

type Env = Record<string, string | undefined>;

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], dflt?: T): T {
  const v = env[name] ?? dflt;
  if (v === undefined || !allowed.includes(v as T))
    throw new ConfigError(name, `one of ${allowed.join("|")}`, env[name]);
  return v as T;
}

function int(env: Env, name: string, min: number, max: number, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  return n;
}

function bool(env: Env, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(name, "true or false", raw);
}

/** Parses "250ms", "2s", "1.5s", "1m" or plain seconds. */
export function parseDurationMs(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000);
}

function duration(env: Env, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  const ms = parseDurationMs(raw);
  if (ms === undefined || ms <= 0)
    throw new ConfigError(name, 'a positive duration such as "250ms", "2s" or "1m"', raw);
  return ms;
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

function urls(env: Env): string[] {
  const raw = env.CONTROL_PLANE_URL;
  const list = (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const ok =
    list.length > 0 && list.every((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol));
  if (!ok)
    throw new ConfigError(
      "CONTROL_PLANE_URL",
      "a comma-separated list of http:// or https:// URLs",
      raw,
    );
  return list.map((u) => u.replace(/\/+$/, ""));
}

function labels(env: Env): Record<string, string> {
  const raw = env.AGENT_LABELS;
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const pair of raw.split(",")) {
    const m = /^\s*([A-Za-z0-9._/-]{1,63})=([^,]{0,63})\s*$/.exec(pair);
    if (!m)
      throw new ConfigError(
        "AGENT_LABELS",
        'comma-separated key=value pairs, e.g. "gpu=none,zone=a"',
        raw,
      );
    out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}

/** LEASE_LOCK_NAME when unset: one Lease per agent id, named so Kubernetes accepts it. */
export function defaultLeaseName(agentId: string): string {
  const safe = agentId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "");
  return `streamspace-agent-${safe || "agent"}`.slice(0, 63).replace(/-+$/, "");
}

/** Reads and validates the whole configuration; throws ConfigError on the first bad variable. */
export function loadConfig(env: Env, cwd = process.cwd()): AgentConfig {
  const agentId = env.AGENT_ID;
  if (!agentId || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(agentId)) {
    throw new ConfigError(
      "AGENT_ID",
      "1-63 characters of letters, digits, '.', '_' or '-'",
      agentId,
    );
  }
  const controlPlaneUrls = urls(env);
  const platform = oneOf(env, "PLATFORM", ["local", "docker", "kubernetes"] as const, "local");
  const cpu = env.MAX_CPU ? parseCpuMillis(env.MAX_CPU) : BigInt(availableParallelism() * 1000);
  if (cpu === undefined || cpu <= 0n)
    throw new ConfigError("MAX_CPU", 'CPU cores such as "2" or "1500m"', env.MAX_CPU);
  const mem = env.MAX_MEMORY ? parseMemoryBytes(env.MAX_MEMORY) : BigInt(totalmem());
  if (mem === undefined || mem <= 0n)
    throw new ConfigError(
      "MAX_MEMORY",
      'bytes or a quantity such as "4Gi" or "512Mi"',
      env.MAX_MEMORY,
    );
  const enableHa = bool(env, "ENABLE_HA", false);
  const haBackend = oneOf(env, "HA_BACKEND", ["redis", "file", "kubernetes"] as const, "file");
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl))
    throw new ConfigError("REDIS_URL", "a redis:// or rediss:// URL", redisUrl);
  if (enableHa && haBackend === "redis" && !redisUrl)
    throw new ConfigError("REDIS_URL", "a redis:// URL because HA_BACKEND=redis", undefined);
  // A Kubernetes Lease keeps client-go's (and the seeds') defaults: 15 s / 10 s / 2 s.
  const kube = haBackend === "kubernetes";
  const leaseDurationMs = duration(env, "LEASE_DURATION", kube ? 15_000 : 2_000);
  const renewDeadlineMs = duration(env, "RENEW_DEADLINE", kube ? 10_000 : 1_500);
  const retryPeriodMs = duration(env, "RETRY_PERIOD", kube ? 2_000 : 250);
  const leaseLockName = env.LEASE_LOCK_NAME || defaultLeaseName(agentId);
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(leaseLockName))
    throw new ConfigError(
      "LEASE_LOCK_NAME",
      "a Kubernetes object name: lower-case letters, digits, '-' and '.'",
      env.LEASE_LOCK_NAME,
    );
  if (renewDeadlineMs >= leaseDurationMs)
    throw new ConfigError(
      "RENEW_DEADLINE",
      `less than LEASE_DURATION (${leaseDurationMs} ms)`,
      env.RENEW_DEADLINE,
    );
  if (retryPeriodMs >= renewDeadlineMs)
    throw new ConfigError(
      "RETRY_PERIOD",
      `less than RENEW_DEADLINE (${renewDeadlineMs} ms)`,
      env.RETRY_PERIOD,
    );
  const dataDir = resolve(cwd, env.AGENT_DATA_DIR || join(".data", `agent-${agentId}`));
  const logLevel = oneOf(env, "LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info");
  return {
    agentId,
    controlPlaneUrls,
    platform,
    region: env.REGION || "default",
    namespace: env.NAMESPACE || "streamspace",
    maxSessions: int(env, "MAX_SESSIONS", 1, 100_000, 10),
    maxCpuMillis: cpu,
    maxMemoryBytes: mem,
    labels: labels(env),
    enableHa,
    haBackend,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    leaseFile: resolve(cwd, env.HA_LEASE_FILE || join(dataDir, "leader.lease")),
    leaseLockName,
    leaseLockNamespace: env.LEASE_LOCK_NAMESPACE || env.NAMESPACE || "streamspace",
    redisUrl,
    bootstrapToken: env.AGENT_BOOTSTRAP_TOKEN || undefined,
    credential: env.AGENT_CREDENTIAL || undefined,
    dataDir,
    healthPort: int(env, "AGENT_HEALTH_PORT", 0, 65_535, 8082),
    healthHost: env.AGENT_HEALTH_HOST || "0.0.0.0",
    logLevel,
    stopSessionsOnExit: bool(env, "AGENT_STOP_SESSIONS_ON_EXIT", false),
  };
}
