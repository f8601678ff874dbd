/**
 * Relay process entry point: validated config from the environment, one server, graceful
 * shutdown on SIGTERM/SIGINT (leave the ring first so sessions move before viewers drop).
 */
import { exitOnConfigError } from "@streamspace/common/env";
import { createLogger } from "@streamspace/common/log";
import { loadRelayConfig } from "./config.ts";
import { startRelayServer } from "./relay-server.ts";

const config = exitOnConfigError(() => loadRelayConfig(), "relay");
const log = createLogger({ level: config.logLevel, base: { relay: config.relayId } });
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
