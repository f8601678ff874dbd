/**
 * The one place `HA_BACKEND` turns into a LeaseBackend, mirroring drivers/open-driver.ts.
 */
import type { Logger } from "@streamspace/common/log";
import { FileLeaseBackend } from "./file-lease-backend.ts";
import type { LeaseBackend } from "./lease-backend.ts";
import { RedisLeaseBackend } from "./redis-lease-backend.ts";

/** What the HA backends need from the agent's configuration. */
export interface LeaseBackendConfig {
  /** HA_BACKEND. */
  backend: "redis" | "file" | "kubernetes";
  /** All replicas of one AGENT_ID share one lease. */
  agentId: string;
  /** HA_LEASE_FILE, for the file backend. */
  leaseFile: string;
  /** LEASE_KEY, the Redis backend's key (default `streamspace:agent-lease:<agentId>`). */
  leaseKey?: string;
  /** REDIS_URL, required by the Redis backend (config.ts checks it). */
  redisUrl?: string;
  /** LEASE_LOCK_NAME and LEASE_LOCK_NAMESPACE, for the Kubernetes Lease backend. */
  leaseLockName?: string;
  leaseLockNamespace?: string;
  /** For what a backend cannot answer per call (the Kubernetes backend's Lease watch). */
  log?: Logger;
}

/** Opens the backend `cfg.backend` names. */
export function openLeaseBackend(cfg: LeaseBackendConfig): LeaseBackend {
  switch (cfg.backend) {
    case "redis":
      if (!cfg.redisUrl) throw new Error("REDIS_URL is missing: HA_BACKEND=redis needs it");
      return new RedisLeaseBackend(cfg.redisUrl, cfg.agentId, cfg.leaseKey);
    case "file":
      return new FileLeaseBackend(cfg.leaseFile);
    case "kubernetes": {
      const { leaseLockName: name, leaseLockNamespace: namespace } = cfg;
      if (!name || !namespace)
        throw new Error(
          "LEASE_LOCK_NAME and LEASE_LOCK_NAMESPACE are needed by HA_BACKEND=kubernetes",
        );
      // Loaded on first use, like the Kubernetes driver: the client library is large.
      const backend = import("./kubernetes-lease-backend.ts").then(
        ({ KubernetesLeaseBackend }) =>
          new KubernetesLeaseBackend({ name, namespace, log: cfg.log }),
      );
      backend.catch(() => {}); // surfaced by the first call
      return {
        acquireOrRenew: async (holder, ttlMs) => (await backend).acquireOrRenew(holder, ttlMs),
        release: async (holder) => (await backend).release(holder),
        close: async () => (await backend).close(),
        onReleased: (listener) => {
          let off: (() => void) | undefined;
          let cancelled = false;
          void backend.then((b) => {
            if (!cancelled) off = b.onReleased(listener);
          });
          return () => {
            cancelled = true;
            off?.();
          };
        },
      };
    }
  }
}
