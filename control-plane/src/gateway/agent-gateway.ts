/**
 * AgentGateway.Connect: the one bidirectional stream each agent holds. This file owns the
 * stream lifecycle (authenticate → Hello → Welcome → heartbeats → close) and the table of
 * streams this pod holds; outbox delivery, reconciliation and routing are ports it drives.
 */
import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { createLogger } from "@streamspace/common/log";
import {
  AgentGateway,
  type AgentMessage,
  type ControlMessage,
  ControlMessageSchema,
  type Hello,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { hashCredential } from "../domain/credentials.ts";
import { toConnectError } from "../edge/error-table.ts";
import { MemoryAgentHub } from "../hub/memory-agent-hub.ts";
import { AgentConnection } from "./agent-connection.ts";
import type { AgentHub, HubMessage } from "./agent-hub.ts";
import type { AgentRegistry } from "./agent-registry.ts";
import type { LocalStreams } from "./command-dispatcher.ts";
import { admitAgent, authenticateStream, type StreamCredential } from "./gateway-auth.ts";
import {
  type GatewayDispatcher,
  type GatewayLogger,
  NO_DISPATCH,
  NO_RECONCILE,
  type SessionReconciler,
} from "./gateway-ports.ts";
import { HeartbeatBook } from "./heartbeat-book.ts";
import { validateHello } from "./hello-validation.ts";
import type { RelayRingSnapshot, RelayRingSource } from "./relay-ring-source.ts";

/** Everything the gateway needs; only pod, registry and ring are required. */
export interface GatewayDeps {
  pod: string;
  registry: AgentRegistry;
  ring: RelayRingSource;
  hub?: AgentHub;
  /** Outbox delivery, built from the gateway's streams (see command-dispatcher.ts). */
  dispatcher?: (streams: LocalStreams) => GatewayDispatcher;
  reconciler?: SessionReconciler;
  bootstrapToken?: string;
  autoApprove?: boolean;
  /** Told to agents in Welcome; 10 s by default (DESIGN.md §9). */
  heartbeatIntervalMs?: number;
  /** AGENT_HEARTBEAT_TIMEOUT: silence after which a stream is cut and the agent offline. */
  heartbeatTimeoutMs?: number;
  /** How often streams are checked for heartbeat silence (default timeout/4, at most 5 s). */
  sweepEveryMs?: number;
  /** How long a new stream may take to send Hello. */
  helloTimeoutMs?: number;
  /** Frames queued per stream before it is cut as too slow. */
  outboundLimit?: number;
  /**
   * Streams one agent credential may hold at once on this pod (AGENT_MAX_STREAMS_PER_CREDENTIAL,
   * default 2: a reconnect may overlap the stream it replaces). More are refused with
   * RESOURCE_EXHAUSTED, so a leaked credential cannot open streams without bound.
   */
  maxStreamsPerCredential?: number;
  /** Signs the relay token carried in Welcome and RingUpdate (proto/TOKENS.md). */
  relayToken?: (agentId: string) => Promise<string>;
  now?: () => number;
  log?: GatewayLogger;
}

/** Readiness as /ready reports it. */
export interface GatewayStatus {
  ready: boolean;
  detail: "ok" | "degraded" | "draining";
  hub: string;
}

/** The gateway as the process composes it (app.ts) and as other modules reach agents. */
export interface Gateway {
  readonly pod: string;
  readonly hub: AgentHub;
  /** Streams this pod holds now (for /health and streamspace_agents_connected). */
  connectedAgents(): number;
  /** Ids of the agents whose stream this pod holds. */
  localAgentIds(): string[];
  /** The local stream of an agent, if this pod holds it. */
  connection(agentId: string): AgentConnection | undefined;
  status(): GatewayStatus;
  /** RevokedAgentCutter: cuts the agent's stream wherever it is held. */
  cutAgent(agentId: string, reason: string): Promise<void>;
  /** OutboxNotifier: new outbox rows for an agent; the pod holding its stream sends them. */
  commandsEnqueued(agentId: string): void;
  /** Pushes a freshly approved or rotated credential to the agent, wherever it is held. */
  issueCredential(agentId: string, credential: string): Promise<void>;
  /** SIGTERM: not ready, Reconnect with jitter to every agent, wait for streams to end. */
  drain(opts?: { deadlineMs?: number; jitterMs?: number }): Promise<void>;
  /**
   * Resolves when nothing is in flight: no Hello inventory being reconciled and nothing in
   * outbox delivery (GatewayDispatcher.idle), so a follow-up command a reconciliation sends
   * has been delivered by then.
   */
  idle(): Promise<void>;
  /** The Connect handler; registerAgentGateway mounts it. */
  connect(
    requests: AsyncIterable<AgentMessage>,
    ctx: HandlerContext,
  ): AsyncIterable<ControlMessage>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Mounts AgentGateway.Connect on a Connect router. */
export function registerAgentGateway(router: ConnectRouter, gateway: Gateway): ConnectRouter {
  return router.service(AgentGateway, { connect: (reqs, ctx) => gateway.connect(reqs, ctx) });
}

/** Builds and starts a gateway (subscribes to the hub and the ring, starts its timers). */
export async function createGateway(deps: GatewayDeps): Promise<Gateway> {
  const g = new GatewayImpl(deps);
  await g.start();
  return g;
}

/** The wait a refused extra stream is told: a replaced stream takes a moment to end. */
const STREAM_RETRY_S = 5;

type ControlPayload = MessageInitShape<typeof ControlMessageSchema>["payload"];
const msg = (payload: ControlPayload) => create(ControlMessageSchema, { payload });

class GatewayImpl implements Gateway {
  readonly pod: string;
  readonly hub: AgentHub;
  private readonly conns = new Map<string, AgentConnection>();
  private readonly dispatcher: GatewayDispatcher;
  private readonly reconciler: SessionReconciler;
  private readonly now: () => number;
  private readonly log: GatewayLogger;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly beats: HeartbeatBook;
  private draining = false;
  /** Open streams per agent credential (by its hash), for maxStreamsPerCredential. */
  private readonly streamsByCredential = new Map<string, number>();
  /** Hello reconciliations running beside their streams, for idle(). */
  private readonly reconciling = new Set<Promise<void>>();
  private lastExpiry = 0;
  private unsubscribeRing: () => void = () => {};
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly deps: GatewayDeps) {
    this.pod = deps.pod;
    this.hub = deps.hub ?? new MemoryAgentHub(deps.pod);
    this.dispatcher = deps.dispatcher ? deps.dispatcher(this) : NO_DISPATCH;
    this.reconciler = deps.reconciler ?? NO_RECONCILE;
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? createLogger({ base: { component: "agent-gateway" } });
    this.intervalMs = deps.heartbeatIntervalMs ?? 10_000;
    this.timeoutMs = deps.heartbeatTimeoutMs ?? 3 * this.intervalMs;
    this.beats = new HeartbeatBook(deps.registry, this.log, this.pod);
  }

  async start(): Promise<void> {
    await this.hub.start((m) => this.onHubMessage(m));
    this.unsubscribeRing = this.deps.ring.subscribe((ring) => void this.broadcastRing(ring));
    const every =
      this.deps.sweepEveryMs ?? Math.max(50, Math.min(5_000, Math.floor(this.timeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
    this.beats.start();
  }

  connectedAgents(): number {
    return this.conns.size;
  }

  localAgentIds(): string[] {
    return [...this.conns.keys()];
  }

  connection(agentId: string): AgentConnection | undefined {
    return this.conns.get(agentId);
  }

  status(): GatewayStatus {
    const hub = this.hub.status();
    if (this.draining) return { ready: false, detail: "draining", hub: hub.detail };
    return { ready: true, detail: hub.state, hub: hub.detail };
  }

  async *connect(
    requests: AsyncIterable<AgentMessage>,
    ctx: HandlerContext,
  ): AsyncGenerator<ControlMessage> {
    if (this.draining) {
      throw new ConnectError(
        "This control-plane pod is shutting down; connect to another pod.",
        Code.Unavailable,
      );
    }
    const cfg = { bootstrapToken: this.deps.bootstrapToken, autoApprove: !!this.deps.autoApprove };
    const cred = authenticateStream(ctx.requestHeader, cfg);
    const release = this.holdStreamSlot(cred);
    try {
      yield* this.serve(cred, cfg, requests, ctx);
    } finally {
      release();
    }
  }

  /** Counts a credential's stream, or refuses it when the credential holds its limit. */
  private holdStreamSlot(cred: StreamCredential): () => void {
    if (cred.kind !== "credential") return () => {};
    const key = hashCredential(cred.secret);
    const limit = this.deps.maxStreamsPerCredential ?? 2;
    const open = this.streamsByCredential.get(key) ?? 0;
    if (open >= limit) {
      throw new ConnectError(
        `This agent credential already holds ${open} streams on this pod (at most ${limit}, AGENT_MAX_STREAMS_PER_CREDENTIAL); close the others or retry in ${STREAM_RETRY_S} s.`,
        Code.ResourceExhausted,
        { "retry-after": String(STREAM_RETRY_S) },
      );
    }
    this.streamsByCredential.set(key, open + 1);
    return () => {
      const left = (this.streamsByCredential.get(key) ?? 1) - 1;
      if (left > 0) this.streamsByCredential.set(key, left);
      else this.streamsByCredential.delete(key);
    };
  }

  private async *serve(
    cred: StreamCredential,
    cfg: { bootstrapToken?: string; autoApprove: boolean },
    requests: AsyncIterable<AgentMessage>,
    ctx: HandlerContext,
  ): AsyncGenerator<ControlMessage> {
    const it = requests[Symbol.asyncIterator]();
    const hello = await this.readHello(it);
    const info = validateHello(hello);
    const admission = await this.guard(admitAgent(cred, hello, info, this.deps.registry, cfg));
    const agentId = hello.agentId;
    const conn = new AgentConnection(agentId, randomUUID(), {
      nowMs: this.now(),
      approved: admission.approved,
      outboundLimit: this.deps.outboundLimit ?? 1024,
    });
    const previous = this.conns.get(agentId);
    previous?.cut(
      new ConnectError("A newer stream of this agent replaced this one.", Code.Aborted),
    );
    this.conns.set(agentId, conn);
    const onAbort = () => conn.ended("the agent went away");
    ctx.signal.addEventListener("abort", onAbort);
    try {
      await this.guard(
        this.deps.registry.markOnline(agentId, this.pod, info, new Date(this.now())),
      );
      await this.hub.register(agentId, conn.connectionId);
      this.log.info("agent connected", { agentId, connectionId: conn.connectionId, pod: this.pod });
      yield await this.welcome(agentId, admission.approved);
      if (admission.issuedCredential) {
        yield msg({ case: "credentialIssued", value: { credential: admission.issuedCredential } });
      }
      this.afterHello(conn, hello);
      void this.readLoop(conn, it).catch((err) => conn.cut(toConnectError(err, this.logErr)));
      for await (const m of conn.outbound) yield m;
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      conn.ended("stream closed");
      void it.return?.()?.catch(() => {});
      await this.forget(conn);
    }
  }

  private readonly logErr = (m: string, err: unknown) => this.log.error(m, { err: String(err) });

  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw toConnectError(err, this.logErr);
    }
  }

  private async readHello(it: AsyncIterator<AgentMessage>): Promise<Hello> {
    const ms = this.deps.helloTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ConnectError(`No Hello within ${ms} ms; send Hello first.`, Code.DeadlineExceeded),
          ),
        ms,
      );
    });
    try {
      const first = await Promise.race([it.next(), timeout]);
      if (first.done || first.value.payload.case !== "hello") {
        throw new ConnectError("the first message must be Hello", Code.InvalidArgument);
      }
      return first.value.payload.value;
    } finally {
      clearTimeout(timer);
    }
  }

  private async welcome(agentId: string, approved: boolean): Promise<ControlMessage> {
    const ms = this.intervalMs;
    return msg({
      case: "welcome",
      value: {
        pod: this.pod,
        approved,
        heartbeatInterval: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 },
        ring: await this.ringMessage(agentId, this.deps.ring.current()),
      },
    });
  }

  private async ringMessage(agentId: string, ring: RelayRingSnapshot) {
    const relayToken = this.deps.relayToken ? await this.deps.relayToken(agentId) : "";
    return { epoch: ring.epoch, members: ring.members, relayToken };
  }

  /** Reconciliation and redelivery run beside the stream, so Hello's reply is never delayed. */
  private afterHello(conn: AgentConnection, hello: Hello): void {
    const id = conn.agentId;
    const reconciled = this.reconciler
      .reconcile(id, hello.sessions)
      .catch((err) => this.log.error("reconcile failed", { agentId: id, err: String(err) }))
      .finally(() => this.reconciling.delete(reconciled));
    this.reconciling.add(reconciled);
    if (conn.approved) {
      this.dispatcher
        .agentConnected(conn, hello.completedCommandIds)
        .catch((err) => this.log.error("redelivery failed", { agentId: id, err: String(err) }));
    }
  }

  private async readLoop(conn: AgentConnection, it: AsyncIterator<AgentMessage>): Promise<void> {
    for (;;) {
      const next = await it.next();
      if (next.done || !conn.open) break;
      conn.lastSeenMs = this.now();
      const p = next.value.payload;
      switch (p.case) {
        case "heartbeat":
          conn.lastSequence = p.value.sequence;
          if (p.value.capacity) {
            const c = p.value.capacity;
            conn.capacity = {
              ...c,
              maxCpuMillis: c.maxCpuMillis,
              maxMemoryBytes: c.maxMemoryBytes,
            };
          }
          this.beats.record(
            conn.agentId,
            conn.capacity,
            new Date(conn.lastSeenMs),
            p.value.platformProblem.slice(0, 1000),
          );
          void this.hub.refresh(conn.agentId, conn.connectionId);
          break;
        case "commandAck":
          await this.dispatcher.ack(conn.agentId, p.value.commandId);
          break;
        case "commandResult": {
          const outcome = await this.dispatcher.result(conn.agentId, p.value);
          if (p.value.session) {
            await this.reconciler.afterResult?.(conn.agentId, p.value.session, outcome);
          }
          break;
        }
        case "sessionEvent":
          if (p.value.session) await this.reconciler.sessionEvent(conn.agentId, p.value.session);
          break;
        case "hello":
          throw new ConnectError(
            "Hello is sent once, as the first message; reconnect to send it again.",
            Code.InvalidArgument,
          );
        default:
          throw new ConnectError("An AgentMessage must carry a payload.", Code.InvalidArgument);
      }
    }
    conn.ended("the agent closed its stream");
  }

  /** Cleans up after a stream, unless a newer stream of the same agent already took over. */
  private async forget(conn: AgentConnection): Promise<void> {
    if (this.conns.get(conn.agentId) !== conn) return;
    this.conns.delete(conn.agentId);
    this.log.info("agent disconnected", { agentId: conn.agentId, reason: conn.closedReason });
    await this.hub.unregister(conn.agentId, conn.connectionId);
    // Its last beats are written before it is marked offline: a beat landing after would bring
    // it back online (recordHeartbeats), and its last capacity report is kept.
    await this.beats.flush();
    await this.deps.registry
      .markOffline(conn.agentId, this.pod, new Date(this.now()))
      .catch((err) =>
        this.log.error("mark offline failed", { agentId: conn.agentId, err: String(err) }),
      );
  }

  private sweep(): void {
    const limit = this.now() - this.timeoutMs;
    if (this.now() - this.lastExpiry >= Math.min(5_000, this.timeoutMs)) {
      this.lastExpiry = this.now();
      // Agents whose pod died never got a markOffline; any pod may notice their silence.
      this.deps.registry
        .expireSilent(new Date(limit))
        .then((ids) => ids.length && this.log.info("agents went silent; marked offline", { ids }))
        .catch((err) => this.log.warn("offline sweep failed", { err: String(err) }));
    }
    for (const conn of this.conns.values()) {
      if (conn.lastSeenMs < limit) {
        this.log.warn("agent heartbeat timed out", { agentId: conn.agentId });
        conn.cut(
          new ConnectError(
            `No heartbeat for ${Math.round(this.timeoutMs / 1000)} s; reconnect.`,
            Code.DeadlineExceeded,
          ),
        );
      }
    }
  }

  private onHubMessage(m: HubMessage): void {
    const conn = this.conns.get(m.agentId);
    if (!conn) return;
    if (m.kind === "cut") {
      conn.cut(new ConnectError(m.reason, Code.PermissionDenied));
    } else if (m.kind === "deliver") {
      if (conn.approved) this.dispatcher.poke(m.agentId);
    } else {
      conn.send(m.message);
      if (m.message.payload.case === "credentialIssued" && !conn.approved) {
        conn.approved = true;
        void this.dispatcher.agentConnected(conn, []).catch(() => {});
      }
    }
  }

  private async broadcastRing(ring: RelayRingSnapshot): Promise<void> {
    for (const conn of this.conns.values()) {
      const value = await this.ringMessage(conn.agentId, ring);
      conn.send(msg({ case: "ringUpdate", value: { ring: value } }));
    }
  }

  commandsEnqueued(agentId: string): void {
    const conn = this.conns.get(agentId);
    if (conn) {
      if (conn.approved) this.dispatcher.poke(agentId);
      return;
    }
    // Not here: poke the pod that holds it. If the poke is lost, that pod's sweep delivers.
    void this.hub.send({ kind: "deliver", agentId });
  }

  async cutAgent(agentId: string, reason: string): Promise<void> {
    await this.hub.send({ kind: "cut", agentId, reason });
  }

  async issueCredential(agentId: string, credential: string): Promise<void> {
    const message = msg({ case: "credentialIssued", value: { credential } });
    await this.hub.send({ kind: "control", agentId, message });
  }

  async idle(): Promise<void> {
    while (this.reconciling.size > 0) await Promise.all(this.reconciling);
    return this.dispatcher.idle();
  }

  async drain(opts: { deadlineMs?: number; jitterMs?: number } = {}): Promise<void> {
    const deadline = this.now() + (opts.deadlineMs ?? 25_000);
    const jitter = opts.jitterMs ?? 2_000;
    this.draining = true;
    this.log.info("draining: asking agents to reconnect elsewhere", { agents: this.conns.size });
    for (const conn of this.conns.values()) {
      conn.reconnect(
        Math.floor(Math.random() * jitter),
        "This control-plane pod is shutting down.",
      );
    }
    while (this.conns.size > 0 && this.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.dispatcher.close();
    await this.beats.flush();
  }

  async close(): Promise<void> {
    this.draining = true;
    clearInterval(this.sweeper);
    this.unsubscribeRing();
    for (const conn of this.conns.values()) {
      conn.cut(new ConnectError("The control plane is stopping.", Code.Unavailable));
    }
    await this.beats.stop();
    await this.dispatcher.close();
    await this.hub.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
