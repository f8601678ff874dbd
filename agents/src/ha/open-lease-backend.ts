/**
 * The one place `HA_BACKEND` turns into a LeaseBackend, mirroring drivers/open-driver.ts. The
 * Kubernetes Lease backend lands here as one more case (`kubernetes-lease-backend.ts`, with the
 * Kubernetes driver); config.ts refuses `HA_BACKEND=kubernetes` until then.
 */
import { FileLeaseBackend } from "./file-lease-backend.ts";
import type { LeaseBackend } from "./lease-backend.ts";
import { RedisLeaseBackend } from "./redis-lease-backend.ts";

/** What the HA backends need from the agent's configuration. */
export interface LeaseBackendConfig {
  /** HA_BACKEND. */
  backend: "redis" | "file";
  /** All replicas of one AGENT_ID share one lease. */
  agentId: string;
  /** HA_LEASE_FILE, for the file backend. */
  leaseFile: string;
  /** REDIS_URL, required by the Redis backend (config.ts checks it). */
  redisUrl?: string;
}

/** Opens the backend `cfg.backend` names. */
export function openLeaseBackend(cfg: LeaseBackendConfig): LeaseBackend {
  switch (cfg.backend) {
    case "redis":
      if (!cfg.redisUrl) throw new Error("REDIS_URL is missing: HA_BACKEND=redis needs it");
      return new RedisLeaseBackend(cfg.redisUrl, cfg.agentId);
    case "file":
      return new FileLeaseBackend(cfg.leaseFile);
  }
}
