/**
 * Heartbeats are written to the agents table in batches: 10,000 agents beating every 10 s is
 * 1,000 beats a second, which one multi-row UPDATE a second absorbs and 1,000 single-row
 * UPDATEs would not. Only the latest beat per agent is kept, so the buffer is bounded by the
 * number of streams.
 */
import type { AgentCapacity, AgentRegistry, HeartbeatRecord } from "./agent-registry.ts";
import type { GatewayLogger } from "./gateway-ports.ts";

/** Buffers the last heartbeat per agent and flushes them on an interval. */
export class HeartbeatBook {
  private pending = new Map<string, HeartbeatRecord>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly registry: AgentRegistry,
    private readonly log: GatewayLogger,
    /** This pod: a beat it records also says which pod holds the stream. */
    private readonly pod: string,
    private readonly everyMs = 1_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.everyMs);
    this.timer.unref();
  }

  record(
    agentId: string,
    capacity: AgentCapacity | undefined,
    at: Date,
    platformProblem = "",
  ): void {
    this.pending.set(agentId, { agentId, capacity, at, pod: this.pod, platformProblem });
  }

  /** Writes what is buffered; a failed write is logged and the next beat supersedes it. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.registry.recordHeartbeats(batch);
      } catch (err) {
        this.log.warn("could not record heartbeats", { count: batch.length, err: String(err) });
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
