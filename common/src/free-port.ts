/**
 * A free loopback TCP port, for servers that cannot listen on port 0 and report back (x11vnc,
 * Postgres, Redis, whole local systems). The kernel picks it, so concurrent callers get
 * different ports; the short window until the server binds is the caller's to close (check
 * the server reports the port it was given, or retry).
 */
import { createServer } from "node:net";

/** Asks the kernel for an unused port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
