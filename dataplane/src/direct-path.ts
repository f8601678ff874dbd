/**
 * Direct mode: the relay dials a session's VNC endpoint itself and splices it with the viewer,
 * so the bytes skip the agent hop (one process and one TCP hop fewer; bench/RESULTS.md, "VNC
 * relay"). The agent names the endpoint in its announce (AgentAnnounce.direct_endpoints); the
 * relay uses it only for a viewer whose token it has verified for that session and agent, and
 * only when the endpoint's address lies in the operator's allowed networks
 * (RELAY_DIRECT_NETS), so an agent cannot make the relay dial anything else. Any failure to
 * dial falls back to the agent's tunnel, which stays the path for agents behind NAT or in
 * other clusters.
 *
 * VNC reads land in pooled buffers (no 64 KiB allocation per read; that churn was ~38 % of the
 * relay's CPU under load as GC) and go to the viewer as one writev of a WebSocket frame header
 * plus the buffer itself; the buffer returns to the pool when that write completes.
 */
import { BlockList, connect, isIP, type Socket } from "node:net";
import { ReadPool } from "@streamspace/common/read-pool";
import type { WebSocket } from "ws";
import type { RelayMetrics } from "./metrics.ts";
import type { ViewerQoe } from "./session-qoe.ts";
import { HIGH_WATER, type Splice } from "./viewer-splice.ts";
import { sendPieces } from "./ws-frame.ts";

/** 64 KiB reads, at most 64 MiB idle, trimmed every 10 s (as on the agent). */
const readPool = new ReadPool(64 * 1024, 1024);
setInterval(() => readPool.trim(), 10_000).unref();

/** A session's VNC endpoint as announced by its agent. */
export interface DirectEndpoint {
  host: string;
  port: number;
}

/**
 * Parses RELAY_DIRECT_NETS: comma-separated CIDRs or single addresses, IPv4 or IPv6
 * ("10.0.0.0/8,fd00::/8,127.0.0.1"). Returns a predicate, or an error message naming the entry.
 */
export function parseDirectNets(raw: string): ((host: string) => boolean) | string {
  const list = new BlockList();
  for (const entry of raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [addr, bits, extra] = entry.split("/");
    const family = isIP(addr ?? "");
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max)
      return `"${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8)`;
    list.addSubnet(addr!, prefix, family === 6 ? "ipv6" : "ipv4");
  }
  return (host) => {
    const family = isIP(host);
    return family !== 0 && list.check(host, family === 6 ? "ipv6" : "ipv4");
  };
}

/**
 * Dials `ep`; resolves a connected, paused socket whose reads go through pooled buffers, or an
 * Error (refused, unreachable, no answer within `timeoutMs`).
 */
export function dialDirect(ep: DirectEndpoint, timeoutMs: number): Promise<DirectSocket | Error> {
  return new Promise((resolve) => {
    const direct = new DirectSocket();
    const sock = connect({
      host: ep.host,
      port: ep.port,
      noDelay: true,
      onread: {
        buffer: () => readPool.take(),
        callback: (n, buf) => direct.onRead(n, buf as Buffer),
      },
    });
    direct.socket = sock;
    sock.pause(); // nothing is read until the splice starts
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(err);
    };
    sock.once("error", fail);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.off("error", fail);
      resolve(direct);
    });
  });
}

/** A dialled VNC socket; its reads are routed to whoever splices it. */
export class DirectSocket {
  socket!: Socket;
  onData: (n: number, buf: Buffer) => boolean = () => false;
  onRead(n: number, buf: Buffer): boolean {
    return this.onData(n, buf);
  }
}

/** Splices one viewer WebSocket with a dialled VNC socket; `onEnd` runs once. */
export function spliceDirect(
  ws: WebSocket,
  direct: DirectSocket,
  metrics: RelayMetrics,
  onEnd: (s: Splice) => void,
  /** Per-session QoE and input activity (session-qoe.ts), as on the tunnel path. */
  qoe?: ViewerQoe,
): Splice {
  const sock = direct.socket;
  let ended = false;
  let vncPaused = false;
  let wsPaused = false;
  const splice: Splice = {
    lastActive: Date.now(),
    close: (code, reason) => finish(code, reason),
  };
  function finish(code: number, reason: string) {
    if (ended) return;
    ended = true;
    if (!sock.destroyed) {
      sock.end();
      setTimeout(() => sock.destroy(), 5_000).unref();
    }
    ws.resume(); // a paused viewer socket would never read the close reply
    if (ws.readyState === ws.OPEN) ws.close(code, reason);
    metrics.countClose(code);
    qoe?.close();
    onEnd(splice);
  }
  const resumeVnc = () => {
    if (vncPaused && !ended) {
      vncPaused = false;
      sock.resume();
    }
  };
  direct.onData = (n, buf) => {
    if (ended) return false;
    metrics.bytesToViewers += n;
    qoe?.serverBytes(n);
    splice.lastActive = Date.now();
    const crossing = !vncPaused && ws.bufferedAmount + n > HIGH_WATER;
    const done = (err?: Error | null) => {
      // A failed write may still be referenced by a cancelled request: let the GC have it.
      if (!err) readPool.give(buf);
      if (crossing) resumeVnc();
    };
    if (crossing) {
      vncPaused = true;
      sock.pause();
    }
    // One frame per read: the read is whatever the kernel had, so batching would only wait.
    sendPieces(ws, [buf.subarray(0, n)], n, done);
    return true;
  };
  sock.on("end", () => finish(1000, "the session closed the connection"));
  sock.on("close", () => finish(1000, "the session closed the connection"));
  sock.on("error", (err) =>
    finish(1011, `the session's VNC connection failed (${(err as NodeJS.ErrnoException).code})`),
  );
  sock.on("drain", () => {
    if (wsPaused) {
      wsPaused = false;
      ws.resume();
    }
  });
  ws.on("message", (msg: Buffer, isBinary: boolean) => {
    if (!isBinary) return finish(1003, "text frames are not supported; send binary frames");
    if (ended) return;
    metrics.bytesFromViewers += msg.length;
    qoe?.clientBytes(msg);
    splice.lastActive = Date.now();
    sock.write(msg);
    if (sock.writableLength > HIGH_WATER && !wsPaused) {
      wsPaused = true;
      ws.pause();
    }
  });
  ws.on("close", (code: number) => finish(code === 1005 ? 1000 : code, "viewer closed"));
  ws.on("error", () => finish(1011, "viewer connection failed"));
  ws.resume();
  sock.resume();
  return splice;
}
