/**
 * `npm start`: the whole system on this machine with embedded defaults. Prints where to open
 * it and how to log in; Ctrl-C stops every process it started and keeps the data folder.
 */
import { startLocalSystem } from "./local-system.ts";
import { ensureWebBuild } from "./web-build.ts";

ensureWebBuild((line) => process.stdout.write(line));

const port = Number(process.env.PORT ?? 8080);
let system: Awaited<ReturnType<typeof startLocalSystem>>;
try {
  system = await startLocalSystem({
    port,
    relayPort: Number(process.env.RELAY_PORT ?? 8081),
    agentHealthPort: Number(process.env.AGENT_HEALTH_PORT ?? 8082),
    dataDir: process.env.DATA_DIR,
    output: "inherit",
    // Embedded defaults unless the person starting it names a database or Redis explicitly.
    callerStore: true,
  });
} catch (err) {
  process.stderr.write(`\nStreamSpace did not start: ${(err as Error).message}\n`);
  process.exit(1);
}

process.stdout.write(
  [
    "",
    "  StreamSpace is running.",
    `  Open      ${system.url}`,
    `  Log in    ${system.username} / ${system.password}`,
    "  Data      kept in .data/ (delete it to start afresh)",
    "  Stop      Ctrl-C",
    "",
  ].join("\n"),
);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write("\nStopping StreamSpace…\n");
  await system.stop();
  process.stdout.write("Stopped. Data kept in .data/.\n");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
