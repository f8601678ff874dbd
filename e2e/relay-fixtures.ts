/**
 * Fixtures for the relay tests: a deployment signing key with viewer/relay token minting (what
 * the control plane does, per proto/TOKENS.md), a scripted RFB stand-in VNC server whose byte
 * exchange is checked by hash, and a WebSocket viewer that speaks to it. Everything binds
 * 127.0.0.1 on kernel-chosen ports and is disposable.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { eventually, GiveUp, WAIT } from "@streamspace/common/testing";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import WebSocket from "ws";

/** Test waits come from the shared set (common/src/testing.ts). */
export { eventually, GiveUp, WAIT };

/** An Ed25519 deployment key: signs tokens the way the control plane does. */
export async function createTestKeys() {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", {
    crv: "Ed25519",
    extractable: true,
  });
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-1", alg: "EdDSA", use: "sig" };
  const jwks = JSON.stringify({ keys: [jwk] });
  const sign = (claims: Record<string, unknown>, aud: string, ttlS: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid: "test-1" })
      .setIssuer("streamspace")
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlS)
      .sign(privateKey);
  return {
    jwks,
    viewerToken: (
      sessionId: string,
      agentId: string,
      o: { ttlS?: number; jti?: string; aud?: string } = {},
    ) =>
      sign(
        { sub: "user-1", sid: sessionId, aid: agentId, jti: o.jti ?? randomUUID() },
        o.aud ?? "streamspace-viewer",
        o.ttlS ?? 60,
      ),
    relayToken: (agentId: string) => sign({ sub: agentId }, "streamspace-relay", 3600),
    /** The control plane's token for a relay's /activity. */
    relayReadToken: () => sign({ sub: "control-plane-1" }, "streamspace-relay-read", 300),
  };
}

/** Deterministic bytes for a seed, so both ends can hash what they expect. */
export function scriptedBytes(seed: string, len: number): Buffer {
  const out = Buffer.alloc(len);
  let block = createHash("sha256").update(seed).digest();
  for (let off = 0; off < len; off += block.length) {
    block.copy(out, off, 0, Math.min(block.length, len - off));
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

export const RFB_GREETING = Buffer.from("RFB 003.008\n", "latin1");

/**
 * A scripted RFB stand-in: sends the 12-byte greeting and `bulkBytes` of scripted data, then
 * echoes every byte back. `received` holds the sha256 of each connection's inbound bytes.
 */
export async function startRfbStandIn(bulkBytes = 64 * 1024) {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer({ noDelay: true }, (s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.write(RFB_GREETING);
    s.write(scriptedBytes("bulk", bulkBytes));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    host: "127.0.0.1",
    port,
    connections: () => connections,
    bulkBytes,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A viewer: connects, collects bytes, and reports how it closed. */
export class Viewer {
  readonly ws: WebSocket;
  readonly chunks: Buffer[] = [];
  received = 0;
  closed?: { code: number; reason: string; at: number };
  readonly opened: Promise<void>;
  readonly createdAt = Date.now();

  constructor(url: string) {
    this.ws = new WebSocket(url, ["binary"], { perMessageDeflate: false });
    this.ws.on("message", (d: Buffer) => {
      this.chunks.push(d);
      this.received += d.length;
    });
    this.ws.on("error", () => {});
    this.ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString(), at: Date.now() };
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("close", (code, reason) =>
        reject(new Error(`closed before open: ${code} ${reason}`)),
      );
      this.ws.once("unexpected-response", (req, res) => {
        // ws leaves the request open when this event has a listener; end it and record why.
        this.closed = {
          code: res.statusCode ?? 0,
          reason: `HTTP ${res.statusCode}`,
          at: Date.now(),
        };
        req.destroy();
        reject(new Error(`HTTP ${res.statusCode}`));
      });
    });
    this.opened.catch(() => {});
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Waits until at least n bytes arrived (or the viewer closed). */
  async waitFor(n: number, timeoutMs: number = WAIT.medium): Promise<Buffer> {
    await eventually(
      () => {
        if (this.received >= n) return;
        if (this.closed)
          throw new GiveUp(`viewer closed early: ${this.closed.code} ${this.closed.reason}`);
        throw new Error(`received ${this.received} of ${n} bytes`);
      },
      { timeoutMs },
    );
    return this.bytes();
  }

  async waitClosed(timeoutMs: number = WAIT.medium) {
    return eventually(
      () => {
        if (!this.closed) throw new Error("viewer still open");
        return this.closed;
      },
      { timeoutMs },
    );
  }

  close(): void {
    this.ws.terminate();
  }
}

/** sha256 hex, for comparing exchanges without printing megabytes. */
export const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
