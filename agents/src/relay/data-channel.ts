/**
 * The agent end of a raw TCP data channel: dials the relay's port, presents the tunnel's
 * single-use secret after DATA_CHANNEL_PREFACE and waits for the relay's one-byte ACK. Any
 * failure (refused, closed, no ACK within the deadline) resolves undefined and the tunnel's
 * bytes take the HTTP/2 stream instead, exactly as with a relay that offers no data channel.
 */
import { connect, type Socket } from "node:net";
import { DATA_CHANNEL_ACK, DATA_CHANNEL_PREFACE } from "@streamspace/common/tunnel-wire";

/** How long the agent waits for the relay to accept a data channel before falling back. */
export const DATA_CHANNEL_DEADLINE_MS = 1_000;

/** Resolves a paused socket ready to carry bytes, or undefined to fall back. */
export function dialDataChannel(
  host: string,
  port: number,
  secret: Uint8Array,
  deadlineMs = DATA_CHANNEL_DEADLINE_MS,
): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host, port, noDelay: true });
    let done = false;
    const settle = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.off("data", onData);
      if (ok) {
        sock.pause();
        resolve(sock);
      } else {
        sock.destroy();
        resolve(undefined);
      }
    };
    const timer = setTimeout(() => settle(false), deadlineMs);
    const onData = (chunk: Buffer) => {
      // The relay sends nothing else before the tunnel is spliced, so the ACK is alone.
      settle(chunk.length === 1 && chunk[0] === DATA_CHANNEL_ACK);
    };
    sock.on("data", onData);
    sock.on("error", () => settle(false));
    sock.on("close", () => settle(false));
    sock.write(Buffer.concat([DATA_CHANNEL_PREFACE, secret]));
  });
}
