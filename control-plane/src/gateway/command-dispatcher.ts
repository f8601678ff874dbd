/**
 * Delivery from the outbox (DESIGN.md §3.2): at-least-once, with the agent deduping by id.
 *  - a poke (new rows for a local agent) or the 1 s sweep claims due rows and writes them to
 *    the stream; a claim marks rows sent with an ack deadline, atomically, so no two pods send
 *    the same row in one attempt;
 *  - a sent row not acknowledged by its ack deadline is due again (redelivery on timeout);
 *  - a new stream resends everything unfinished (redelivery on reconnect);
 *  - acks and results go through the core's report API (command and session in one
 *    transaction);
 *  - a row past its command deadline is failed with a reason the session shows.
 * Deliveries for one agent run one at a time; a poke during a run schedules one more run.
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  type CommandResult,
  CommandResultSchema,
  CommandSchema,
  ControlMessageSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import type { AgentConnection } from "./agent-connection.ts";
import type { GatewayDispatcher, GatewayLogger } from "./gateway-ports.ts";
import type { ClaimMode, OutboxClaims } from "./outbox-claims.ts";

/** The streams a dispatcher writes to (the gateway provides them). */
export interface LocalStreams {
  connection(agentId: string): AgentConnection | undefined;
  localAgentIds(): string[];
}

/** The part of the core's report API that delivery needs (domain/session-reports.ts). */
export interface CommandReports {
  acknowledgeCommand(agentId: string, commandId: string): Promise<boolean>;
  applyCommandResult(agentId: string, result: CommandResult): Promise<unknown>;
}

/** Dispatcher settings; times in milliseconds. */
export interface DispatcherDeps {
  outbox: OutboxClaims;
  reports: CommandReports;
  /** How long an agent has to ack a sent command before it is sent again. */
  ackTimeoutMs?: number;
  sweepEveryMs?: number;
  batch?: number;
  now?: () => number;
  log: GatewayLogger;
  /** Counts for /metrics (streamspace_commands_dispatched_total / _failed_total). */
  onDispatched?: (n: number) => void;
  onExpired?: (n: number) => void;
}

/** Builds the dispatcher factory createGateway takes (it needs the gateway's streams). */
export function commandDispatcher(deps: DispatcherDeps): (s: LocalStreams) => GatewayDispatcher {
  return (streams) => new CommandDispatcher(deps, streams);
}

const CHUNK = 5_000;

class CommandDispatcher implements GatewayDispatcher {
  private readonly runs = new Map<string, { again: boolean; mode: ClaimMode }>();
  private readonly idle = new Set<() => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly ackTimeoutMs: number;
  private sweeping = false;
  private closed = false;

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly streams: LocalStreams,
  ) {
    this.now = deps.now ?? Date.now;
    this.ackTimeoutMs = deps.ackTimeoutMs ?? 5_000;
    this.timer = setInterval(() => void this.sweep(), deps.sweepEveryMs ?? 1_000);
    this.timer.unref();
  }

  async agentConnected(conn: AgentConnection): Promise<void> {
    const resendBefore = new Date(this.now() + this.ackTimeoutMs);
    this.kick(conn.agentId, { kind: "reconnect", resendBefore });
  }

  poke(agentId: string): void {
    this.kick(agentId, { kind: "due" });
  }

  async ack(agentId: string, commandId: string): Promise<void> {
    await this.deps.reports.acknowledgeCommand(agentId, commandId);
  }

  async result(agentId: string, result: CommandResult): Promise<void> {
    await this.deps.reports.applyCommandResult(agentId, result);
  }

  private kick(agentId: string, mode: ClaimMode): void {
    if (this.closed) return;
    const run = this.runs.get(agentId);
    if (run) {
      run.again = true;
      if (mode.kind === "reconnect") run.mode = mode;
      return;
    }
    const state = { again: false, mode };
    this.runs.set(agentId, state);
    void this.deliver(agentId, state);
  }

  private async deliver(agentId: string, state: { again: boolean; mode: ClaimMode }) {
    const batch = this.deps.batch ?? 100;
    try {
      do {
        state.again = false;
        const conn = this.streams.connection(agentId);
        if (!conn?.open || !conn.approved) break;
        const now = this.now();
        const rows = await this.deps.outbox.claim(
          agentId,
          state.mode,
          new Date(now),
          new Date(now + this.ackTimeoutMs),
          batch,
        );
        for (const row of rows) {
          const command = fromBinary(CommandSchema, row.payload);
          conn.send(create(ControlMessageSchema, { payload: { case: "command", value: command } }));
        }
        if (rows.length > 0) this.deps.onDispatched?.(rows.length);
        if (rows.length === batch) state.again = true;
      } while (state.again && !this.closed);
    } catch (err) {
      this.deps.log.error("command delivery failed; the sweep retries", {
        agentId,
        err: String(err),
      });
    } finally {
      this.runs.delete(agentId);
      if (this.runs.size === 0) for (const f of this.idle) f();
    }
  }

  /** Safety net for lost pokes and ack timeouts, and the command-deadline reaper. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    try {
      const now = new Date(this.now());
      const ids = this.streams.localAgentIds();
      for (let i = 0; i < ids.length; i += CHUNK) {
        const due = await this.deps.outbox.agentsWithDue(ids.slice(i, i + CHUNK), now);
        for (const id of due) this.kick(id, { kind: "due" });
      }
      const expired = await this.deps.outbox.expired(now, 100);
      for (const e of expired) {
        const result = create(CommandResultSchema, {
          commandId: e.id,
          success: false,
          errorMessage: `Agent ${e.agentId} did not finish this command before its deadline (it may be offline); try again.`,
        });
        await this.deps.reports
          .applyCommandResult(e.agentId, result)
          .catch((err) => this.deps.log.warn("expire command", { id: e.id, err: String(err) }));
      }
      if (expired.length > 0) this.deps.onExpired?.(expired.length);
    } catch (err) {
      this.deps.log.warn("outbox sweep failed", { err: String(err) });
    } finally {
      this.sweeping = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    if (this.runs.size === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
      setTimeout(done, 5_000).unref();
    });
  }
}
