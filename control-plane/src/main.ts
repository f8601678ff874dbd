/**
 * Control-plane process entry. A bad environment stops it with one line; SIGTERM/SIGINT drain
 * (not-ready, agents told to reconnect elsewhere, in-flight work finished) and exit within 30 s.
 */
import { exitOnConfigError } from "@streamspace/common/env";
import { createLogger } from "@streamspace/common/log";
import { startTracing } from "@streamspace/common/tracing";
import { createControlPlane } from "./app.ts";
import { loadConfig } from "./config.ts";

const config = exitOnConfigError(() => loadConfig(), "streamspace control plane");
const log = createLogger({
  level: config.logLevel,
  base: { svc: "control-plane", pod: config.podName },
});
// Process-wide tracing (common/src/tracing.ts): exported when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const tracing = startTracing({ service: "streamspace-control-plane" });
process.on("unhandledRejection", (err) => log.error("unhandled rejection", { err }));

let cp: Awaited<ReturnType<typeof createControlPlane>>;
try {
  cp = await createControlPlane(config, log);
} catch (err) {
  log.error("control plane failed to start", { err });
  process.exit(1);
}

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  const hardStop = setTimeout(() => {
    log.error("shutdown took longer than 30 s; exiting anyway");
    process.exit(1);
  }, 30_000);
  hardStop.unref();
  await cp.drain().catch((err) => log.warn("drain failed", { err }));
  await cp.close();
  await tracing.shutdown().catch(() => {});
  log.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
