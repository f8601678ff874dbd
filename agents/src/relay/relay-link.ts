/**
 * One multiplexed HTTP/2 connection from the agent to one relay: a long-lived Attach stream that
 * announces the sessions this relay should route here, and one Tunnel stream per viewer the
 * relay asks for. The link reports its own death once (`onDown`) so the owner can route the
 * sessions around this relay until the ring says otherwise.
 */

import { type ClientHttp2Session, type ClientHttp2Stream, connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { create } from "@bufbuild/protobuf";
import {
  decodeMessage,
  encodeMessage,
  FrameReader,
  RELAY_SERVICE_PATH,
} from "@streamspace/common/tunnel-wire";
import {
  AgentAnnounceSchema,
  AttachRequestSchema,
  AttachResponseSchema,
  type DirectEndpoint,
  DirectEndpointSchema,
  type TunnelOpen,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import { dialDataChannel } from "./data-channel.ts";
import { runTunnel } from "./tunnel-splice.ts";

/** The logging surface the links need; the runtime's logger satisfies it. */
export interface RelayLinksLogger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** What a link needs from its owner. */
export interface RelayLinkDeps {
  agentId: string;
  log: RelayLinksLogger;
  endpoint(sessionId: string): { host: string; port: number } | undefined;
  onDown(link: RelayLink, reason: string): void;
  onIdle(link: RelayLink): void;
}

const PING_EVERY_MS = 10_000;

/** A connection to one relay; create with `new RelayLink(...)`, then `announce`. */
export class RelayLink {
  readonly #session: ClientHttp2Session;
  readonly #attach: ClientHttp2Stream;
  readonly #ping: NodeJS.Timeout;
  #sessions: string[] = [];
  #tunnels = 0;
  #down = false;

  constructor(
    readonly relayId: string,
    readonly url: string,
    /** Latest relay token: tokens live 1 h and a fresh one rides on every RingUpdate. */
    private readonly token: () => string,
    private readonly deps: RelayLinkDeps,
  ) {
    const target = new URL(url);
    this.#session = connect(url, {
      // Small interactive messages (pointer, keys) must not wait for Nagle.
      createConnection: () =>
        netConnect({ host: target.hostname, port: Number(target.port || 80), noDelay: true }),
      settings: { initialWindowSize: 2 * 1024 * 1024, maxFrameSize: 1024 * 1024 },
      maxSessionMemory: 64,
    });
    this.#session.on("connect", () => this.#session.setLocalWindowSize(8 * 1024 * 1024));
    this.#session.on("error", (err) => this.#fail(`connection failed: ${err.message}`));
    this.#session.on("close", () => this.#fail("connection closed"));
    this.#session.on("goaway", () => this.#fail("relay sent GOAWAY"));
    this.#attach = this.#session.request(
      {
        ":method": "POST",
        ":path": `${RELAY_SERVICE_PATH}Attach`,
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${token()}`,
      },
      { endStream: false },
    );
    this.#attach.on("error", (err) => this.#fail(`attach stream failed: ${err.message}`));
    this.#attach.on("close", () => this.#fail("attach stream closed"));
    this.#attach.on("trailers", (t) => {
      if (t["grpc-status"] && t["grpc-status"] !== "0") {
        this.#fail(`relay refused attach: ${decodeURIComponent(String(t["grpc-message"] ?? ""))}`);
      }
    });
    this.#attach.on("response", (h) => {
      if (h["grpc-status"] && h["grpc-status"] !== "0") {
        this.#fail(`relay refused attach: ${decodeURIComponent(String(h["grpc-message"] ?? ""))}`);
      }
    });
    const reader = new FrameReader((msg) => {
      const res = decodeMessage(AttachResponseSchema, msg);
      if (res instanceof Error) return this.#fail("relay sent a malformed attach frame");
      if (res.payload.case === "open") void this.#openTunnel(res.payload.value);
    });
    this.#attach.on("data", (chunk: Buffer) => {
      const err = reader.push(chunk);
      if (err) this.#fail(err.message);
    });
    this.#ping = setInterval(() => {
      if (this.#session.destroyed) return;
      this.#session.ping((err) => {
        if (err) this.#fail(`ping failed: ${err.message}`);
      });
    }, PING_EVERY_MS);
    this.#ping.unref();
  }

  get sessions(): readonly string[] {
    return this.#sessions;
  }

  get tunnels(): number {
    return this.#tunnels;
  }

  get down(): boolean {
    return this.#down;
  }

  /**
   * Tells the relay which sessions to route here (the full set, each time), and for direct
   * mode the VNC endpoints it may dial itself (`direct`: the same sessions, or none).
   */
  announce(
    sessionIds: string[],
    epoch: bigint,
    direct: { sessionId: string; host: string; port: number }[] = [],
  ): void {
    if (this.#down) return;
    this.#sessions = sessionIds;
    const directEndpoints: DirectEndpoint[] = direct.map((d) => create(DirectEndpointSchema, d));
    const req = create(AttachRequestSchema, {
      payload: {
        case: "announce",
        value: create(AgentAnnounceSchema, {
          agentId: this.deps.agentId,
          sessionIds,
          ringEpoch: epoch,
          directEndpoints,
        }),
      },
    });
    this.#attach.write(encodeMessage(AttachRequestSchema, req));
    if (sessionIds.length === 0 && this.#tunnels === 0) this.deps.onIdle(this);
  }

  async #openTunnel(open: TunnelOpen): Promise<void> {
    this.#tunnels++;
    // Bulk bytes on a plain TCP connection when the relay offers one: node:http2 cuts them
    // into 16 KiB DATA frames, several JS callbacks per 64 KiB on both ends.
    const target = new URL(this.url);
    // Plain TCP only where the link itself is cleartext (the secret must not cross in clear
    // where the operator chose TLS).
    const data =
      open.dataChannelSecret.length > 0 && target.protocol === "http:"
        ? await dialDataChannel(target.hostname, Number(target.port || 80), open.dataChannelSecret)
        : undefined;
    if (this.#down || this.#session.destroyed) {
      data?.destroy();
      this.#tunnels--;
      return;
    }
    const stream = this.#session.request(
      {
        ":method": "POST",
        ":path": `${RELAY_SERVICE_PATH}Tunnel`,
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${this.token()}`,
      },
      { endStream: false },
    );
    runTunnel({
      stream,
      data,
      sessionId: open.sessionId,
      connectionId: open.connectionId,
      token: open.token,
      endpoint: this.deps.endpoint(open.sessionId),
      onEnd: (end) => {
        this.#tunnels--;
        this.deps.log.debug?.("tunnel ended", {
          relay: this.relayId,
          session: open.sessionId,
          reason: end.reason,
        });
        if (this.#sessions.length === 0 && this.#tunnels === 0) this.deps.onIdle(this);
      },
    });
  }

  #fail(reason: string): void {
    if (this.#down) return;
    this.#down = true;
    clearInterval(this.#ping);
    this.#session.destroy();
    this.deps.onDown(this, reason);
  }

  /** Closes the connection (ring moved away, or the agent stops). */
  close(): void {
    if (this.#down) return;
    this.#down = true;
    clearInterval(this.#ping);
    this.#attach.end();
    this.#session.close();
    setTimeout(() => this.#session.destroy(), 2_000).unref();
  }
}
