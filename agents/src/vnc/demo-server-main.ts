/**
 * Entry point of the built-in VNC server as its own process, so a built-in session is a
 * process group like every other local session (SIGSTOP hibernates it, SIGTERM ends it, and
 * it outlives an agent restart). It listens on an ephemeral loopback port and reports the port
 * by writing SS_PORT_FILE atomically (write + rename): no stdout pipe that would break when the
 * agent that started it goes away.
 */
import { renameSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createLogger } from "@streamspace/common/log";
import { DemoDesktop } from "./demo-desktop.ts";
import { createRfbServer } from "./rfb-server.ts";

const log = createLogger({ base: { component: "builtin-vnc" } });
const portFile = process.env.SS_PORT_FILE;
// The whole name: the desktop's title bar fits it to the screen width (demo-desktop.ts).
const title = process.env.SS_TITLE || "StreamSpace demo";
const [w, h] = (process.env.SS_GEOMETRY ?? "1024x768").split("x").map(Number);
if (!portFile) {
  log.error("SS_PORT_FILE is required: the path where the listening port is written");
  process.exit(2);
}
const desktop = new DemoDesktop(w ?? 1024, h ?? 768, title);
desktop.start();
const server = createRfbServer({ desktop, name: title, log });
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  writeFileSync(`${portFile}.tmp`, String(port));
  renameSync(`${portFile}.tmp`, portFile);
  log.info("listening", { port });
});
const shutdown = () => {
  desktop.stop();
  server.close();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
