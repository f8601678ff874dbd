/**
 * The one place `PLATFORM` turns into a driver. Each platform has a folder under drivers/ with
 * mirrored file names (`local/local-driver.ts`, `docker/docker-driver.ts`,
 * `kubernetes/kubernetes-driver.ts`), and one entry below. A platform whose driver is not built
 * yet is refused before the agent does anything else, with one line an operator can act on.
 */

import type { Logger } from "@streamspace/common/log";
import type { Driver } from "../runtime/driver.ts";
import { LocalDriver } from "./local/local-driver.ts";

/** The platforms `PLATFORM` may name; each gets a folder under drivers/. */
export const PLATFORM_NAMES = ["local", "docker", "kubernetes"] as const;

/** A value of `PLATFORM`. */
export type PlatformName = (typeof PLATFORM_NAMES)[number];

/** What any driver may need from the agent's configuration. */
export interface DriverConfig {
  platform: PlatformName;
  /** AGENT_DATA_DIR: the local driver keeps its session records here. */
  dataDir: string;
  /** NAMESPACE: where the Kubernetes driver creates its objects. */
  namespace: string;
  /** AGENT_ID: the Kubernetes and Docker drivers label their objects with it and find them by it. */
  agentId: string;
  /** DOCKER_HOST: the Docker Engine API the Docker driver uses (unix:// or tcp://). */
  dockerHost?: string;
  /** NETWORK_PREFIX: the Docker driver names session networks `<prefix>-<session id>`. */
  networkPrefix?: string;
  /** KEEP_HOME_VOLUMES: the Docker driver leaves a stopped session's home volume in place. */
  keepHomeVolumes?: boolean;
  log: Logger;
}

/** DOCKER_HOST when unset: the Engine's usual socket. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

type Opener = (cfg: DriverConfig) => Promise<Driver>;

const loadDocker = () => import("./docker/docker-driver.ts");

// A platform maps to undefined until its driver lands; the entry is the whole wiring it needs.
const OPENERS: Record<PlatformName, Opener | undefined> = {
  local: (cfg) => LocalDriver.open({ dataDir: cfg.dataDir, log: cfg.log }),
  // Loaded on use, like Kubernetes: dockerode is not needed by other platforms.
  docker: async (cfg) => {
    const { DockerDriver } = await loadDocker();
    return DockerDriver.open({
      dockerHost: cfg.dockerHost ?? DEFAULT_DOCKER_HOST,
      networkPrefix: cfg.networkPrefix ?? "streamspace",
      keepHomeVolumes: cfg.keepHomeVolumes,
      agentId: cfg.agentId,
      dataDir: cfg.dataDir,
      log: cfg.log,
    });
  },
  // Loaded on use: the Kubernetes client library alone adds ~80 MiB to a process that never
  // talks to a cluster.
  kubernetes: async (cfg) => {
    const { KubernetesDriver } = await import("./kubernetes/kubernetes-driver.ts");
    return KubernetesDriver.open({ namespace: cfg.namespace, agentId: cfg.agentId, log: cfg.log });
  },
};

/** Platforms this build has a driver for (the shared driver suite runs against each). */
export const BUILT_PLATFORMS: readonly PlatformName[] = PLATFORM_NAMES.filter(
  (p) => OPENERS[p] !== undefined,
);

/** PLATFORM names a driver this build does not have; the message is the one line main prints. */
export class PlatformNotBuiltError extends Error {
  constructor(readonly platform: string) {
    super(
      `PLATFORM=${platform} has no driver in this build yet; use ${BUILT_PLATFORMS.map((p) => `PLATFORM=${p}`).join(" or ")}`,
    );
    this.name = "PlatformNotBuiltError";
  }
}

/** Throws PlatformNotBuiltError unless this build has a driver for `platform`. */
export function assertDriverBuilt(platform: PlatformName): void {
  if (!OPENERS[platform]) throw new PlatformNotBuiltError(platform);
}

/**
 * Loads the platform's driver code without opening it. An HA follower calls this at start so
 * that winning the lease does not also wait for dockerode to load (hundreds of ms on a busy
 * host), which would lengthen every failover.
 */
export async function preloadDriver(platform: PlatformName): Promise<void> {
  if (platform === "docker") await loadDocker();
}

/** Opens the driver `cfg.platform` selects (re-adopting what it left running, where it can). */
export async function openDriver(cfg: DriverConfig): Promise<Driver> {
  const open = OPENERS[cfg.platform];
  if (!open) throw new PlatformNotBuiltError(cfg.platform);
  return open(cfg);
}
