/**
 * Composition root of a control-plane pod: the only file that knows every part. Parts are
 * built in dependency order (storage → redis → auth → domain and gateway → HTTP), each from
 * parts already built, and closed in reverse, so a stop never leaves a stream writing to a
 * closed database. A part that fails to start closes the ones before it.
 */

import type { Logger } from "@streamspace/common/log";
import { createMetrics } from "@streamspace/common/metrics";
import { createAuthPart } from "./app/auth.ts";
import { createGatewayPart } from "./app/gateway.ts";
import { startHttpPart } from "./app/http.ts";
import { openRedis } from "./app/redis.ts";
import { openStorage } from "./app/storage.ts";
import type { ControlPlaneConfig } from "./config.ts";

/** A running pod. */
export interface ControlPlane {
  port: number;
  url: string;
  /** SIGTERM path: not-ready, agents told to reconnect elsewhere, in-flight work finished. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a pod from its configuration. */
export async function createControlPlane(
  config: ControlPlaneConfig,
  log: Logger,
): Promise<ControlPlane> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse())
      await c().catch((err) => log.warn("close step failed", { err }));
  };
  try {
    const metrics = createMetrics();
    const storage = await openStorage(config);
    closers.push(() => storage.close());
    const redis = openRedis(config, log);
    closers.push(() => redis.close());
    const auth = await createAuthPart({ config, db: storage.db, redis: redis.client, log });
    const domain = await createGatewayPart({
      config,
      db: storage.db,
      redis: redis.client,
      tokenSigner: auth.tokenSigner,
      metrics,
      log,
    });
    closers.push(() => domain.close());
    const http = await startHttpPart({
      config,
      auth,
      domain,
      checks: { database: () => storage.check(), redis: redis.check },
      countSessions: (states) => storage.countSessions(states),
      metrics,
      log,
    });
    closers.push(() => http.close());
    return {
      port: http.port,
      url: http.url,
      async drain() {
        http.stopServing();
        await domain.gateway.drain({ deadlineMs: config.drainTimeoutMs });
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
