/**
 * SessionChangeBus across pods over Redis pub/sub, so WatchSessions on pod A sees a change made
 * on pod B. Changes travel as binary WatchSessionsResponse protos (typed, no JSON envelope).
 * Local watchers are served at once from memory, so a Redis outage only costs cross-pod
 * watch (DESIGN.md §3.1); the copy that comes back from Redis is dropped by (id, version,
 * deleted), which identifies one change exactly.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type WatchSessionsResponse,
  WatchSessionsResponseSchema,
} from "@streamspace/proto/streamspace/v1/session_service_pb";
import type { Session as PbSession } from "@streamspace/proto/streamspace/v1/types_pb";
import type { Redis } from "ioredis";
import type { SessionChange, SessionChangeBus } from "../domain/ports.ts";
import { sessionStateFromProto, sessionToProto } from "../domain/proto-mapping.ts";
import { MemorySessionChangeBus } from "./memory-session-change-bus.ts";

/** The one channel every pod publishes to and listens on. */
export const SESSION_CHANGES_CHANNEL = "streamspace:session-changes";
const SEEN_LIMIT = 4096;

function fromProto(pb: PbSession): SessionChange["session"] {
  return {
    id: pb.id,
    ownerId: pb.ownerId,
    templateId: pb.templateId,
    agentId: pb.agentId,
    state: sessionStateFromProto(pb.state) ?? "failed",
    stateReason: pb.stateReason,
    version: Number(pb.version),
    displayName: pb.displayName,
    resources: {
      cpuMillis: pb.resources?.cpuMillis ?? 0n,
      memoryBytes: pb.resources?.memoryBytes ?? 0n,
    },
    vncEndpoint: "",
    holdsCapacity: false,
    deleteRequested: false,
    createTime: pb.createTime ? timestampDate(pb.createTime) : new Date(0),
    updateTime: pb.updateTime ? timestampDate(pb.updateTime) : new Date(0),
  };
}

const keyOf = (c: { session: { id: string; version: number | bigint }; deleted: boolean }) =>
  `${c.session.id}:${c.session.version}:${c.deleted ? 1 : 0}`;

/**
 * Takes a publishing client; it duplicates it for the subscriber connection (a subscribed
 * ioredis client cannot publish). Errors are reported through onError, never thrown at callers.
 */
export class RedisSessionChangeBus implements SessionChangeBus {
  private readonly local = new MemorySessionChangeBus();
  private readonly seen = new Set<string>();
  private readonly sub: Redis;
  private readonly subscribed: Promise<void>;

  constructor(
    private readonly pub: Redis,
    private readonly onError: (msg: string, err: unknown) => void = () => {},
  ) {
    this.sub = pub.duplicate();
    this.sub.on("error", (err) => onError("session change subscriber", err));
    this.sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => this.receive(message));
    // Subscribe on every (re)connect rather than once: with enableOfflineQueue off, a subscribe
    // sent before the first connect fails and would otherwise never be retried.
    this.subscribed = new Promise((resolve) => {
      const subscribe = () =>
        this.sub.subscribe(SESSION_CHANGES_CHANNEL).then(
          () => resolve(),
          (err) => onError("subscribe to session changes", err),
        );
      this.sub.on("ready", subscribe);
      if (this.sub.status === "ready") void subscribe();
    });
  }

  /**
   * Resolves once the subscription is first active and the publishing client is connected:
   * with the offline queue off, a publish before that is dropped (tests and start-up wait here).
   */
  async ready(): Promise<void> {
    await this.subscribed;
    if (this.pub.status !== "ready") {
      await new Promise<void>((resolve) => this.pub.once("ready", () => resolve()));
    }
  }

  private remember(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > SEEN_LIMIT) {
      const first = this.seen.values().next().value;
      if (first !== undefined) this.seen.delete(first);
    }
    return true;
  }

  private receive(message: Buffer): void {
    let msg: WatchSessionsResponse;
    try {
      msg = fromBinary(WatchSessionsResponseSchema, message);
    } catch (err) {
      this.onError("undecodable session change", err);
      return;
    }
    if (!msg.session) return;
    const change = { session: fromProto(msg.session), deleted: msg.deleted };
    if (this.remember(keyOf(change))) this.local.publish(change);
  }

  publish(change: SessionChange): void {
    if (this.remember(keyOf(change))) this.local.publish(change);
    const bytes = toBinary(
      WatchSessionsResponseSchema,
      create(WatchSessionsResponseSchema, {
        session: sessionToProto(change.session),
        deleted: change.deleted,
      }),
    );
    this.pub
      .publish(SESSION_CHANGES_CHANNEL, Buffer.from(bytes))
      .catch((err) => this.onError("publish session change", err));
  }

  subscribe(listener: (c: SessionChange) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    await this.local.close();
    this.sub.disconnect();
  }
}
