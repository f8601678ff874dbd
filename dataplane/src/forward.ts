/**
 * Forwards a viewer's upgrade request to the owning relay and splices the raw TCP sockets, so
 * a relay reached by a balancer that hashed differently (or one whose view is a moment stale)
 * still lands the viewer on the owner. Byte-level piping keeps the WebSocket end to end:
 * close codes, subprotocol and backpressure (pipe) pass through untouched. The hop header
 * stops loops: a forwarded request is always served where it lands.
 */
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";

/** Marks a request that has already been forwarded once. */
export const HOP_HEADER = "x-streamspace-relay-hop";

/** Opens a TCP connection to the owner and replays the upgrade request; rejects if unreachable. */
export function forwardUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  ownerUrl: string,
  selfId: string,
  connectTimeoutMs = 2_000,
): Promise<void> {
  const target = new URL(ownerUrl);
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  }
  lines.push(`${HOP_HEADER}: ${selfId}`, "", "");
  const preamble = Buffer.from(lines.join("\r\n"), "latin1");
  return new Promise((resolve, reject) => {
    const up: Socket = connect({
      host: target.hostname,
      port: Number(target.port || 80),
      noDelay: true,
    });
    const timer = setTimeout(() => up.destroy(new Error("connect timeout")), connectTimeoutMs);
    up.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    up.once("connect", () => {
      clearTimeout(timer);
      up.removeAllListeners("error");
      up.on("error", () => client.destroy());
      client.on("error", () => up.destroy());
      up.write(head.length ? Buffer.concat([preamble, head]) : preamble);
      client.pipe(up);
      up.pipe(client);
      client.on("close", () => up.destroy());
      up.on("close", () => client.destroy());
      resolve();
    });
  });
}
