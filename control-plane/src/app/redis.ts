/**
 * The Redis part of a pod: one connection for agent routing, token revocation and session
 * changes across pods. Redis is routing and cache, never the truth (DESIGN.md §3.1): losing it
 * is logged once, degrades /ready, and heals by itself when it returns.
 */

import type { Logger } from "@streamspace/common/log";
import { Redis } from "ioredis";
import type { ControlPlaneConfig } from "../config.ts";
import type { Check } from "./checks.ts";

/** The shared client, or nothing on a single pod without REDIS_URL. */
export interface RedisPart {
  client: Redis | undefined;
  /** Present only when Redis is configured. */
  check: Check | undefined;
  close(): Promise<void>;
}

/** Connects (lazily: ioredis retries in the background) when REDIS_URL is set. */
export function openRedis(config: Pick<ControlPlaneConfig, "redisUrl">, log: Logger): RedisPart {
  if (!config.redisUrl) return { client: undefined, check: undefined, close: async () => {} };
  // Fail fast while Redis is away: callers fall back to this pod instead of queueing requests.
  const client = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  let down = false;
  client.on("error", (err) => {
    if (!down)
      log.error("redis unreachable; commands reach only agents on this pod until it returns", {
        err: err.message,
      });
    down = true;
  });
  client.on("ready", () => {
    if (down) log.info("redis is back; routing across pods restored");
    down = false;
  });
  return {
    client,
    check: async () => ({ ok: client.status === "ready", detail: client.status }),
    close: async () => void client.disconnect(),
  };
}
