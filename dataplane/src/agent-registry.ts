/**
 * Which agent's Attach stream serves which session on this relay, and the tunnels the relay
 * has asked for but not yet received. Plain maps with explicit bounds: an agent announces at
 * most MAX_SESSIONS_PER_ANNOUNCE sessions, and a pending tunnel times out.
 */

import { randomBytes } from "node:crypto";
import type { ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import { encodeMessage } from "@streamspace/common/tunnel-wire";
import {
  type AttachResponse,
  AttachResponseSchema,
  TunnelOpenSchema,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import type { DirectEndpoint } from "./direct-path.ts";
import type { AgentTunnel } from "./viewer-splice.ts";

/** Upper bound on sessions one agent may announce on one relay. */
export const MAX_SESSIONS_PER_ANNOUNCE = 10_000;
/** Upper bound on tunnels waiting for their agent stream. */
export const MAX_PENDING_TUNNELS = 10_000;

/** One agent's Attach stream. */
export interface AttachHandle {
  agentId: string;
  stream: ServerHttp2Stream;
  sessions: Set<string>;
  /** VNC endpoints the relay may dial itself (direct mode), already checked against the nets. */
  direct: Map<string, DirectEndpoint>;
}

/** Length of a data channel secret (bytes). */
export const DATA_SECRET_BYTES = 32;

/** A viewer waiting for the agent to open its Tunnel stream. */
interface Pending {
  agentId: string;
  sessionId: string;
  resolve(stream: AgentTunnel | Error): void;
  timer: NodeJS.Timeout;
  /** hex of the data channel secret while it is unused. */
  secret?: string;
  /** The agent's data channel, once it presented the secret. */
  data?: Socket;
}

/** Session routing and tunnel rendezvous for one relay process. */
export class AgentRegistry {
  readonly #bySession = new Map<string, AttachHandle>();
  readonly #pending = new Map<string, Pending>();
  readonly #handles = new Set<AttachHandle>();
  /** Unused data channel secrets (hex) → connection id; each is removed on first use. */
  readonly #bySecret = new Map<string, string>();
  #nextId = 0;

  constructor(
    readonly relayId: string,
    readonly onChange: () => void = () => {},
    /** Offer agents a raw TCP data channel per tunnel (TunnelOpen.data_channel_secret). */
    readonly offerDataChannel = true,
    /** Direct mode: which announced VNC hosts this relay may dial (RELAY_DIRECT_NETS). */
    readonly directAllowed: (host: string) => boolean = () => false,
  ) {}

  get agents(): number {
    return this.#handles.size;
  }

  get sessions(): number {
    return this.#bySession.size;
  }

  /** Session ids with an attached agent, for debugging and tests. */
  sessionIds(): string[] {
    return [...this.#bySession.keys()];
  }

  attach(agentId: string, stream: ServerHttp2Stream): AttachHandle {
    const h: AttachHandle = { agentId, stream, sessions: new Set(), direct: new Map() };
    this.#handles.add(h);
    this.onChange();
    return h;
  }

  /**
   * Replaces the handle's session set; the latest announce for a session wins. `direct` lists
   * endpoints the agent offers for direct mode; those of announced sessions whose host is in
   * the allowed networks are kept, the rest ignored (their viewers take the tunnel).
   */
  announce(
    h: AttachHandle,
    sessionIds: readonly string[],
    direct: readonly ({ sessionId: string } & DirectEndpoint)[] = [],
  ): Error | undefined {
    if (sessionIds.length > MAX_SESSIONS_PER_ANNOUNCE) {
      return new Error(
        `announce lists ${sessionIds.length} sessions; the limit is ${MAX_SESSIONS_PER_ANNOUNCE}`,
      );
    }
    const next = new Set(sessionIds);
    for (const s of h.sessions)
      if (!next.has(s) && this.#bySession.get(s) === h) this.#bySession.delete(s);
    for (const s of next) this.#bySession.set(s, h);
    h.sessions = next;
    h.direct = new Map();
    for (const d of direct) {
      if (next.has(d.sessionId) && d.port > 0 && d.port < 65536 && this.directAllowed(d.host))
        h.direct.set(d.sessionId, { host: d.host, port: d.port });
    }
    this.onChange();
    return undefined;
  }

  detach(h: AttachHandle): void {
    if (!this.#handles.delete(h)) return;
    for (const s of h.sessions) if (this.#bySession.get(s) === h) this.#bySession.delete(s);
    this.onChange();
  }

  /**
   * The endpoint to dial for a viewer of `sessionId` whose token names `agentId`, when the
   * agent serving the session here offered one the relay may dial.
   */
  directEndpoint(sessionId: string, agentId: string): DirectEndpoint | undefined {
    const h = this.#bySession.get(sessionId);
    if (!h || h.agentId !== agentId || h.stream.destroyed) return undefined;
    return h.direct.get(sessionId);
  }

  /** Asks the session's agent for a tunnel; resolves with its stream, or an Error with a close code. */
  requestTunnel(
    sessionId: string,
    agentId: string,
    token: string,
    timeoutMs: number,
  ): Promise<AgentTunnel | Error> | Error {
    const h = this.#bySession.get(sessionId);
    if (!h || h.stream.destroyed)
      return Object.assign(
        new Error("no agent serves this session on this relay; retry in a moment"),
        { closeCode: 4404 },
      );
    if (h.agentId !== agentId)
      return Object.assign(new Error("the viewer token names another agent for this session"), {
        closeCode: 4404,
      });
    if (this.#pending.size >= MAX_PENDING_TUNNELS)
      return Object.assign(new Error("too many tunnels being set up; retry shortly"), {
        closeCode: 1013,
      });
    const connectionId = `${this.relayId}-${(this.#nextId++).toString(36)}`;
    const secret = this.offerDataChannel ? randomBytes(DATA_SECRET_BYTES) : undefined;
    const open: AttachResponse = create(AttachResponseSchema, {
      payload: {
        case: "open",
        value: create(TunnelOpenSchema, {
          sessionId,
          connectionId,
          token,
          dataChannelSecret: secret,
        }),
      },
    });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#drop(connectionId);
        resolve(
          Object.assign(new Error("the agent did not open the tunnel in time"), {
            closeCode: 1011,
          }),
        );
      }, timeoutMs);
      const hex = secret?.toString("hex");
      this.#pending.set(connectionId, { agentId, sessionId, resolve, timer, secret: hex });
      if (hex) this.#bySecret.set(hex, connectionId);
      h.stream.write(encodeMessage(AttachResponseSchema, open));
    });
  }

  /**
   * Binds an agent's data channel to the tunnel whose secret it presented. A secret works once:
   * a wrong, expired or replayed one returns false and the caller drops the socket.
   */
  attachDataChannel(secret: Buffer, socket: Socket): boolean {
    const hex = secret.toString("hex");
    const id = this.#bySecret.get(hex);
    if (id === undefined) return false;
    this.#bySecret.delete(hex);
    const p = this.#pending.get(id);
    if (!p) return false;
    p.secret = undefined;
    p.data = socket;
    socket.once("close", () => {
      if (p.data === socket) p.data = undefined;
    });
    return true;
  }

  /**
   * Matches an agent's Tunnel stream to the viewer waiting for it. `wantsData`: the agent says
   * its bytes use the data channel, which must then have been attached.
   */
  completeTunnel(
    agentId: string,
    sessionId: string,
    connectionId: string,
    tunnel: AgentTunnel,
    wantsData = false,
  ): boolean {
    const p = this.#pending.get(connectionId);
    if (!p || p.agentId !== agentId || p.sessionId !== sessionId) return false;
    if (wantsData && !p.data) return false;
    const data = p.data;
    if (wantsData) p.data = undefined;
    this.#drop(connectionId);
    clearTimeout(p.timer);
    if (wantsData) tunnel.data = data;
    p.resolve(tunnel);
    return true;
  }

  /** Forgets a pending tunnel, its unused secret and any data channel nobody will use. */
  #drop(connectionId: string): void {
    const p = this.#pending.get(connectionId);
    if (!p) return;
    this.#pending.delete(connectionId);
    if (p.secret) this.#bySecret.delete(p.secret);
    p.data?.destroy();
  }

  /** Fails every waiting viewer (shutdown). */
  close(): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.resolve(Object.assign(new Error("relay is shutting down"), { closeCode: 1001 }));
      this.#drop(id);
    }
  }
}
