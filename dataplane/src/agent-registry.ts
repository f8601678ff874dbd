/**
 * Which agent's Attach stream serves which session on this relay, and the tunnels the relay
 * has asked for but not yet received. Plain maps with explicit bounds: an agent announces at
 * most MAX_SESSIONS_PER_ANNOUNCE sessions, and a pending tunnel times out.
 */

import type { ServerHttp2Stream } from "node:http2";
import { create } from "@bufbuild/protobuf";
import {
  type AttachResponse,
  AttachResponseSchema,
  TunnelOpenSchema,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import { encodeMessage } from "./tunnel-wire.ts";
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
}

/** A viewer waiting for the agent to open its Tunnel stream. */
interface Pending {
  agentId: string;
  sessionId: string;
  resolve(stream: AgentTunnel | Error): void;
  timer: NodeJS.Timeout;
}

/** Session routing and tunnel rendezvous for one relay process. */
export class AgentRegistry {
  readonly #bySession = new Map<string, AttachHandle>();
  readonly #pending = new Map<string, Pending>();
  readonly #handles = new Set<AttachHandle>();
  #nextId = 0;

  constructor(
    readonly relayId: string,
    readonly onChange: () => void = () => {},
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
    const h: AttachHandle = { agentId, stream, sessions: new Set() };
    this.#handles.add(h);
    this.onChange();
    return h;
  }

  /** Replaces the handle's session set; the latest announce for a session wins. */
  announce(h: AttachHandle, sessionIds: readonly string[]): Error | undefined {
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
    this.onChange();
    return undefined;
  }

  detach(h: AttachHandle): void {
    if (!this.#handles.delete(h)) return;
    for (const s of h.sessions) if (this.#bySession.get(s) === h) this.#bySession.delete(s);
    this.onChange();
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
    const open: AttachResponse = create(AttachResponseSchema, {
      payload: {
        case: "open",
        value: create(TunnelOpenSchema, { sessionId, connectionId, token }),
      },
    });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(connectionId);
        resolve(
          Object.assign(new Error("the agent did not open the tunnel in time"), {
            closeCode: 1011,
          }),
        );
      }, timeoutMs);
      this.#pending.set(connectionId, { agentId, sessionId, resolve, timer });
      h.stream.write(encodeMessage(AttachResponseSchema, open));
    });
  }

  /** Matches an agent's Tunnel stream to the viewer waiting for it. */
  completeTunnel(
    agentId: string,
    sessionId: string,
    connectionId: string,
    tunnel: AgentTunnel,
  ): boolean {
    const p = this.#pending.get(connectionId);
    if (!p || p.agentId !== agentId || p.sessionId !== sessionId) return false;
    this.#pending.delete(connectionId);
    clearTimeout(p.timer);
    p.resolve(tunnel);
    return true;
  }

  /** Fails every waiting viewer (shutdown). */
  close(): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.resolve(Object.assign(new Error("relay is shutting down"), { closeCode: 1001 }));
      this.#pending.delete(id);
    }
  }
}
