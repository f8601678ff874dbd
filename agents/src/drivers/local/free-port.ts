/**
 * A free loopback TCP port, for servers (x11vnc) that cannot listen on port 0 and report back.
 * The kernel picks it, so two concurrent callers get different ports; the small window until
 * the server binds is closed by the caller checking that the server reports the same port.
 */
import { createServer } from "node:net";

/** Asks the kernel for an unused port on 127.0.0.1. */
export function freeLoopbackPort(): Promise<number> {
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
