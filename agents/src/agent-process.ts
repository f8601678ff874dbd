/**
 * Composes one agent process from its configuration: health server, relay links, optional
 * leader election, and — while leading — the platform's driver plus the runtime holding the stream.
 * Leadership changes are serialised, so a quick lose-and-win never runs two runtimes at once.
 * Kept apart from main.ts so tests can start and stop a whole agent in-process.
 */
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "@streamspace/common/log";
import { Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import type { AgentConfig } from "./config.ts";
import { assertDriverBuilt, openDriver, preloadDriver } from "./drivers/open-driver.ts";
import { LeaderElector } from "./ha/leader-elector.ts";
import type { LeaseBackend } from "./ha/lease-backend.ts";
import { openLeaseBackend } from "./ha/open-lease-backend.ts";
import { createRelayLinks } from "./relay/index.ts";
import { AgentRuntime } from "./runtime/agent-runtime.ts";
import type { Driver } from "./runtime/driver.ts";
import { type HealthServer, startHealthServer } from "./runtime/health-server.ts";

/** The agent's version, reported in Hello and /health. */
export const AGENT_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

const PLATFORMS = {
  local: Platform.LOCAL,
  docker: Platform.DOCKER,
  kubernetes: Platform.KUBERNETES,
} as const;

/** The reason a person sees on a desktop that ended because its agent stopped with the system. */
export const STOPPED_WITH_THE_SYSTEM = "stopped with the system";

/**
 * How long a clean stop may spend stopping desktops and telling the control plane; below
 * main.ts's 30 s hard exit, and what is not confirmed by then goes out in the next Hello.
 */
const STOP_SESSIONS_DEADLINE_MS = 20_000;

/** A running agent; stop() is the graceful shutdown. */
export interface AgentProcess {
  healthPort: number;
  stop(): Promise<void>;
}

function credentialPath(cfg: AgentConfig): string {
  return join(cfg.dataDir, "credential");
}

/** Starts the agent described by `cfg`. */
export async function startAgentProcess(cfg: AgentConfig, log: Logger): Promise<AgentProcess> {
  // Before anything else: a follower would otherwise learn it only when it wins the lease.
  assertDriverBuilt(cfg.platform);
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const saved = existsSync(credentialPath(cfg))
    ? readFileSync(credentialPath(cfg), "utf8").trim()
    : undefined;
  const credential = cfg.credential ?? (saved || undefined);
  if (!credential && !cfg.bootstrapToken) {
    throw new Error(
      `AGENT_CREDENTIAL is missing: set it, or AGENT_BOOTSTRAP_TOKEN to enrol (no saved credential in ${cfg.dataDir})`,
    );
  }
  const relay = createRelayLinks({
    agentId: cfg.agentId,
    direct: cfg.relayDirect,
    log: log.child({ component: "relay-links" }),
  });
  let driver: Driver | undefined;
  let runtime: AgentRuntime | undefined;
  let currentCredential = credential;
  let transition: Promise<void> = Promise.resolve();

  const lead = async () => {
    if (runtime) return;
    driver = await openDriver({
      platform: cfg.platform,
      dataDir: cfg.dataDir,
      namespace: cfg.namespace,
      agentId: cfg.agentId,
      dockerHost: cfg.dockerHost,
      networkPrefix: cfg.networkPrefix,
      keepHomeVolumes: cfg.keepHomeVolumes,
      log: log.child({ component: `${cfg.platform}-driver` }),
    });
    runtime = new AgentRuntime({
      agentId: cfg.agentId,
      urls: cfg.controlPlaneUrls,
      platform: PLATFORMS[cfg.platform],
      region: cfg.region,
      version: AGENT_VERSION,
      labels: cfg.labels,
      maxSessions: cfg.maxSessions,
      maxCpuMillis: cfg.maxCpuMillis,
      maxMemoryBytes: cfg.maxMemoryBytes,
      driver,
      relay,
      log: log.child({ component: "runtime" }),
      credential: currentCredential,
      bootstrapToken: cfg.bootstrapToken,
      onCredential: async (c) => {
        const p = credentialPath(cfg);
        writeFileSync(`${p}.tmp`, c, { mode: 0o600 });
        chmodSync(`${p}.tmp`, 0o600);
        renameSync(`${p}.tmp`, p);
        currentCredential = c;
      },
    });
    runtime.start();
  };
  const follow = async (stopSessions: boolean) => {
    const [rt, d] = [runtime, driver];
    runtime = undefined;
    driver = undefined;
    if (stopSessions)
      await rt?.stopWithSessions(STOPPED_WITH_THE_SYSTEM, STOP_SESSIONS_DEADLINE_MS);
    else await rt?.stop();
    await d?.close();
  };
  const serially = (fn: () => Promise<void>) => {
    transition = transition
      .then(fn)
      .catch((err: unknown) => log.error("leadership transition failed", { err }));
    return transition;
  };

  let elector: LeaderElector | undefined;
  let backend: LeaseBackend | undefined;
  if (cfg.enableHa) {
    backend = openLeaseBackend({
      backend: cfg.haBackend,
      agentId: cfg.agentId,
      leaseFile: cfg.leaseFile,
      leaseKey: cfg.leaseKey,
      redisUrl: cfg.redisUrl,
      leaseLockName: cfg.leaseLockName,
      leaseLockNamespace: cfg.leaseLockNamespace,
      log: log.child({ component: "lease" }),
    });
    elector = new LeaderElector({
      backend,
      identity: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      leaseDurationMs: cfg.leaseDurationMs,
      renewDeadlineMs: cfg.renewDeadlineMs,
      retryPeriodMs: cfg.retryPeriodMs,
      log: log.child({ component: "leader-election" }),
      onStartedLeading: () => void serially(lead),
      onStoppedLeading: () => void serially(() => follow(false)),
    });
  }

  let health: HealthServer;
  try {
    health = await startHealthServer(
      cfg.healthPort,
      () => {
        const s = runtime?.status();
        return {
          agentId: cfg.agentId,
          version: AGENT_VERSION,
          connected: s?.connected ?? false,
          leader: elector ? elector.isLeader : true,
          pod: s?.pod,
          sessions: s?.sessions ?? 0,
          platformProblem: driver?.platformProblem?.(),
        };
      },
      cfg.healthHost,
      log.child({ component: "health" }),
    );
  } catch (err) {
    await relay.close();
    throw new Error(
      `AGENT_HEALTH_PORT ${cfg.healthPort} could not be used: ${(err as Error).message}`,
      { cause: err },
    );
  }
  log.info("agent started", {
    agentId: cfg.agentId,
    healthPort: health.port,
    ha: cfg.enableHa,
    urls: cfg.controlPlaneUrls,
  });
  if (elector) {
    // A follower loads its driver's code now, so a takeover pays only for opening it.
    void preloadDriver(cfg.platform).catch((err: unknown) =>
      log.warn("could not load the driver ahead of leading", { err }),
    );
    elector.start();
  } else await serially(lead);

  return {
    healthPort: health.port,
    async stop() {
      log.info("shutting down", { stopSessions: cfg.stopSessionsOnExit });
      await elector?.stop();
      await serially(() => follow(cfg.stopSessionsOnExit));
      await backend?.close();
      await relay.close();
      await health.close();
    },
  };
}
