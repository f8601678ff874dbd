/**
 * In the single-machine start the browser reaches everything on one port, so `/vnc/*`
 * WebSocket upgrades are passed byte for byte to the relay. In a scaled-out deployment the front
 * balancer sends `/vnc/*` to the relays directly and this is not used.
 */
import type { IncomingMessage } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../log.ts";
import type { UpgradeHandler } from "./http-server.ts";

/** Forwards the raw upgrade request to `relayUrl` and splices the two sockets. */
export function createVncProxy(relayUrl: string, log: Logger): UpgradeHandler {
  const target = new URL(relayUrl);
  const port = Number(target.port || 80);
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const upstream = net.connect(port, target.hostname);
    const fail = (err: Error) => {
      log.warn("vnc relay unreachable", { relay: relayUrl, err: err.message });
      socket.end("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    };
    upstream.once("error", fail);
    upstream.once("connect", () => {
      upstream.off("error", fail);
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
      const end = () => {
        upstream.destroy();
        socket.destroy();
      };
      upstream.on("error", end);
      socket.on("error", end);
      upstream.on("close", end);
      socket.on("close", end);
    });
  };
}
