/**
 * Relay configuration from the environment, validated at start-up: a missing or malformed value
 * stops the process with one line naming the variable and what it expected (DESIGN.md §7).
 */
import { hostname } from "node:os";
import type { RingMember } from "@streamspace/common/relay-ring";
import { parseStaticMembers } from "./membership.ts";

/** Everything the relay process needs; tests build it directly. */
export interface RelayConfig {
  port: number;
  host: string;
  relayId: string;
  publicUrl: string;
  redisUrl?: string;
  redisPrefix?: string;
  staticMembers?: RingMember[];
  membershipTtlMs: number;
  viewerJwks?: string;
  viewerJwksUrl?: string;
  idleTimeoutMs: number;
  tunnelSetupTimeoutMs: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /**
   * Bearer token for `/debug/sessions` (which sessions have an agent here). Unset: the
   * endpoint does not exist, since session ids are not for anyone who can reach the port.
   */
  debugToken?: string;
  /** Offer agents raw TCP data channels (`RELAY_DATA_CHANNEL`, default on; off = HTTP/2 only). */
  dataChannel?: "on" | "off";
}

/** Thrown for a bad variable; main prints the message alone. */
export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}="${raw}" is invalid: expected an integer from ${min} to ${max}`);
  }
  return n;
}

/** Parses a duration: "30s", "5m", "1500ms" or bare seconds. */
export function parseDuration(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m)
    throw new ConfigError(
      `${name}="${raw}" is invalid: expected a duration like 30s, 5m or 1500ms`,
    );
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * unit);
}

/** Reads and validates the relay environment. */
export function loadRelayConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const port = int(env, "PORT", 8081, 0, 65535);
  const host = env.HOST || "0.0.0.0";
  const relayId = env.RELAY_ID || env.POD_NAME || hostname();
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(relayId)) {
    throw new ConfigError(
      `RELAY_ID="${relayId}" is invalid: expected letters, digits, ".", "_" or "-"`,
    );
  }
  const publicUrl = env.RELAY_PUBLIC_URL || `http://127.0.0.1:${port}`;
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
  } catch {
    throw new ConfigError(
      `RELAY_PUBLIC_URL="${publicUrl}" is invalid: expected http(s)://host:port`,
    );
  }
  let staticMembers: RingMember[] | undefined;
  if (env.RELAY_STATIC_MEMBERS) {
    try {
      staticMembers = parseStaticMembers(env.RELAY_STATIC_MEMBERS);
    } catch (err) {
      throw new ConfigError(err instanceof Error ? err.message : String(err));
    }
  }
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL="${redisUrl}" is invalid: expected redis://host:port`);
  }
  const viewerJwks = env.VIEWER_JWKS || undefined;
  if (viewerJwks) {
    try {
      const parsed = JSON.parse(viewerJwks) as { keys?: unknown };
      if (!Array.isArray(parsed.keys)) throw new Error();
    } catch {
      throw new ConfigError(
        'VIEWER_JWKS is invalid: expected a JWKS JSON document ({"keys":[...]})',
      );
    }
  }
  const viewerJwksUrl =
    env.VIEWER_JWKS_URL ||
    (env.CONTROL_PLANE_URL
      ? `${env.CONTROL_PLANE_URL.replace(/\/$/, "")}/.well-known/jwks.json`
      : undefined);
  if (!viewerJwks && !viewerJwksUrl) {
    throw new ConfigError(
      "VIEWER_JWKS_URL is missing: set it (or CONTROL_PLANE_URL, or VIEWER_JWKS) so tokens can be verified",
    );
  }
  const debugToken = env.RELAY_DEBUG_TOKEN || undefined;
  if (debugToken !== undefined && debugToken.length < 16) {
    throw new ConfigError(
      "RELAY_DEBUG_TOKEN is too short: use at least 16 random characters, or leave it unset",
    );
  }
  const dataChannel = env.RELAY_DATA_CHANNEL || "on";
  if (dataChannel !== "on" && dataChannel !== "off") {
    throw new ConfigError(`RELAY_DATA_CHANNEL="${dataChannel}" is invalid: expected on or off`);
  }
  const level = env.LOG_LEVEL || "info";
  if (!["debug", "info", "warn", "error"].includes(level)) {
    throw new ConfigError(`LOG_LEVEL="${level}" is invalid: expected debug, info, warn or error`);
  }
  return {
    port,
    host,
    relayId,
    publicUrl,
    redisUrl: staticMembers ? undefined : redisUrl,
    redisPrefix: env.RELAY_REDIS_PREFIX || undefined,
    staticMembers,
    membershipTtlMs: int(env, "RELAY_TTL_MS", 5000, 300, 600_000),
    viewerJwks,
    viewerJwksUrl,
    idleTimeoutMs: env.VNC_PROXY_TIMEOUT
      ? parseDuration("VNC_PROXY_TIMEOUT", env.VNC_PROXY_TIMEOUT)
      : 30 * 60_000,
    tunnelSetupTimeoutMs: int(env, "RELAY_TUNNEL_SETUP_TIMEOUT_MS", 10_000, 100, 120_000),
    logLevel: level as RelayConfig["logLevel"],
    debugToken,
    dataChannel,
  };
}
