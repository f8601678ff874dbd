/**
 * Passes an HTTP/1.1 upgrade request (a WebSocket) byte for byte to another server and splices
 * the two sockets: close codes, subprotocols and backpressure (pipe) pass through untouched.
 * Used where a connection landed on the wrong process: the single-process start's `/vnc/` on
 * the control plane's port, and a relay forwarding a viewer to the session's owner.
 *
 * Every wait has a deadline (DESIGN.md §3.6): a target that does not accept the TCP connection
 * within `connectTimeoutMs` counts as unreachable, so a black-holed address costs the viewer a
 * quick refusal instead of the kernel's minutes-long SYN retries.
 */
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { UpgradeHandler } from "./listener.ts";
import { refuseUpgrade } from "./listener.ts";
import type { Logger } from "./log.ts";

/** Default connect deadline; loopback and in-cluster peers answer in far less. */
export const FORWARD_CONNECT_TIMEOUT_MS = 2_000;

export interface ForwardOptions {
  /** Give up on the TCP connect after this long (default FORWARD_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
  /** Extra request headers for the target (a relay marks a forwarded hop). */
  headers?: Record<string, string>;
  /** Opens the TCP connection; tests pass one that never connects. Default net.connect. */
  dial?: (host: string, port: number) => Socket;
}

const dialTcp = (host: string, port: number) => connect({ host, port, noDelay: true });

/**
 * Connects to `targetUrl` (http://host:port), replays the upgrade request and splices the
 * sockets. Resolves once connected; rejects if the target is unreachable or does not accept
 * in time, leaving `client` untouched so the caller can try elsewhere or refuse it.
 */
export function forwardUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  targetUrl: string,
  opts: ForwardOptions = {},
): Promise<void> {
  const target = new URL(targetUrl);
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push("", "");
  const preamble = Buffer.from(lines.join("\r\n"), "latin1");
  return new Promise((resolve, reject) => {
    const up = (opts.dial ?? dialTcp)(target.hostname, Number(target.port || 80));
    const timer = setTimeout(
      () => up.destroy(new Error(`connect to ${target.host} timed out`)),
      opts.connectTimeoutMs ?? FORWARD_CONNECT_TIMEOUT_MS,
    );
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

/**
 * An upgrade handler that forwards every upgrade to `targetUrl` and answers 502 when the
 * target cannot be reached in time.
 */
export function createUpgradeForwarder(
  targetUrl: string,
  opts: ForwardOptions & { log?: Logger } = {},
): UpgradeHandler {
  return (req, socket, head) => {
    forwardUpgrade(req, socket, head, targetUrl, opts).catch((err: Error) => {
      opts.log?.warn("upgrade target unreachable", { target: targetUrl, err: err.message });
      refuseUpgrade(socket, 502, "Bad Gateway");
    });
  };
}
