/**
 * Relay process entry point: validated config from the environment, one server, graceful
 * shutdown on SIGTERM/SIGINT (leave the ring first so sessions move before viewers drop).
 */
import { ConfigError, loadRelayConfig } from "./config.ts";
import { createRelayLogger } from "./log.ts";
import { startRelayServer } from "./relay-server.ts";

let config: ReturnType<typeof loadRelayConfig>;
try {
  config = loadRelayConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`relay: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const log = createRelayLogger(config.logLevel, { relay: config.relayId });
const relay = await startRelayServer(config, { log });
let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info("relay stopping", { signal });
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  relay.close().then(
    () => process.exit(0),
    (err) => {
      log.error("relay shutdown failed", { err });
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
