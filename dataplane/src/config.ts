/**
 * Relay configuration from the environment, validated at start-up with the kit's schemas: a
 * missing or malformed value stops the process with one line naming the variable and what it
 * expected (DESIGN.md §7).
 */
import { hostname } from "node:os";
import {
  ConfigError,
  custom,
  duration,
  int,
  oneOf,
  parseEnv,
  port,
  str,
  url,
} from "@streamspace/common/env";
import type { RingMember } from "@streamspace/common/relay-ring";
import { parseDirectNets } from "./direct-path.ts";
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
  /** Viewers one session may have at once (`RELAY_MAX_VIEWERS_PER_SESSION`, default 10). */
  maxViewersPerSession?: number;
  /**
   * Direct mode (`RELAY_DIRECT_NETS`): networks whose announced VNC endpoints this relay may
   * dial itself. Unset or empty: direct mode is off and every viewer takes the agent's tunnel.
   */
  directNets?: string;
}

const relayId = str({
  pattern: /^[A-Za-z0-9._-]{1,128}$/,
  expected: 'up to 128 letters, digits, ".", "_" or "-"',
});

const jwks = custom('a JWKS JSON document ({"keys":[...]})', (s) => {
  try {
    return Array.isArray((JSON.parse(s) as { keys?: unknown }).keys) ? s : undefined;
  } catch {
    return undefined;
  }
});

const SHAPE = {
  PORT: port().default(8081),
  HOST: str().default("0.0.0.0"),
  RELAY_ID: relayId.optional(),
  POD_NAME: str().optional(),
  RELAY_PUBLIC_URL: url().optional(),
  RELAY_STATIC_MEMBERS: custom("comma-separated id=http://host:port entries", (s) => {
    try {
      return parseStaticMembers(s);
    } catch {
      return undefined;
    }
  }).optional(),
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  RELAY_REDIS_PREFIX: str().optional(),
  RELAY_TTL_MS: int(300, 600_000).default(5000),
  VIEWER_JWKS: jwks.optional(),
  VIEWER_JWKS_URL: url().optional(),
  CONTROL_PLANE_URL: str().optional(),
  // Bare numbers were always seconds here; existing deployments keep working.
  VNC_PROXY_TIMEOUT: duration({ bareUnit: "s" }).default(30 * 60_000),
  RELAY_TUNNEL_SETUP_TIMEOUT_MS: int(100, 120_000).default(10_000),
  LOG_LEVEL: oneOf(["debug", "info", "warn", "error"]).default("info"),
  RELAY_DEBUG_TOKEN: str({
    pattern: /^.{16,}$/,
    expected: "at least 16 random characters, or leave it unset",
  }).optional(),
  RELAY_DATA_CHANNEL: oneOf(["on", "off"]).default("on"),
  RELAY_MAX_VIEWERS_PER_SESSION: int(1, 10_000).default(10),
  RELAY_DIRECT_NETS: custom(
    "comma-separated CIDRs or IP addresses (e.g. 10.0.0.0/8,fd00::/8), or empty for off",
    (s) => (typeof parseDirectNets(s) === "string" ? undefined : s),
  ).optional(),
};

/** Reads and validates the relay environment; throws ConfigError naming the variable. */
export function loadRelayConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const e = parseEnv(SHAPE, env);
  const id =
    e.RELAY_ID ?? parseEnv({ RELAY_ID: relayId }, { RELAY_ID: e.POD_NAME ?? hostname() }).RELAY_ID;
  const viewerJwksUrl =
    e.VIEWER_JWKS_URL ??
    (e.CONTROL_PLANE_URL
      ? `${e.CONTROL_PLANE_URL.replace(/\/$/, "")}/.well-known/jwks.json`
      : undefined);
  if (!e.VIEWER_JWKS && !viewerJwksUrl) {
    throw new ConfigError(
      "VIEWER_JWKS_URL is missing: set it (or CONTROL_PLANE_URL, or VIEWER_JWKS) so tokens can be verified",
      "VIEWER_JWKS_URL",
    );
  }
  return {
    port: e.PORT,
    host: e.HOST,
    relayId: id,
    publicUrl: e.RELAY_PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`,
    redisUrl: e.RELAY_STATIC_MEMBERS ? undefined : e.REDIS_URL,
    redisPrefix: e.RELAY_REDIS_PREFIX,
    staticMembers: e.RELAY_STATIC_MEMBERS,
    membershipTtlMs: e.RELAY_TTL_MS,
    viewerJwks: e.VIEWER_JWKS,
    viewerJwksUrl,
    idleTimeoutMs: e.VNC_PROXY_TIMEOUT,
    tunnelSetupTimeoutMs: e.RELAY_TUNNEL_SETUP_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    debugToken: e.RELAY_DEBUG_TOKEN,
    dataChannel: e.RELAY_DATA_CHANNEL,
    maxViewersPerSession: e.RELAY_MAX_VIEWERS_PER_SESSION,
    directNets: e.RELAY_DIRECT_NETS,
  };
}
