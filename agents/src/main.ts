/**
 * The agent process: `node --import tsx agents/src/main.ts`. Reads and validates the
 * environment (one line naming the variable on error, exit code 2), then runs until SIGTERM
 * or SIGINT. Shutdown closes the control stream and leaves sessions running (they are
 * re-adopted by the next start) unless AGENT_STOP_SESSIONS_ON_EXIT=true: then it stops them and
 * reports them stopped ("stopped with the system") before it closes the stream.
 */
import { exitOnConfigError } from "@streamspace/common/env";
import { createLogger } from "@streamspace/common/log";
import { startTracing } from "@streamspace/common/tracing";
import { startAgentProcess } from "./agent-process.ts";
import { loadConfig } from "./config.ts";

const config = exitOnConfigError(() => loadConfig(process.env), "agent");
const log = createLogger({
  level: config.logLevel,
  base: { service: "agent", agentId: config.agentId },
});
// Commands carry the caller's trace context; spans are exported when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const tracing = startTracing({ service: "streamspace-agent" });
let agent: Awaited<ReturnType<typeof startAgentProcess>>;
try {
  agent = await startAgentProcess(config, log);
} catch (err) {
  process.stderr.write(`agent: ${(err as Error).message}\n`);
  process.exit(2);
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info("signal received", { signal });
  const force = setTimeout(() => {
    log.error("shutdown took longer than 30 s; exiting anyway");
    process.exit(1);
  }, 30_000);
  force.unref();
  await agent.stop();
  await tracing.shutdown().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
