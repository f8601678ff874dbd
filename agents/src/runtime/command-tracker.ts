/**
 * Tracks commands from arrival to reported result, so the stream code stays about the stream.
 * Delivery is at-least-once: every arrival is acked at once; a command already finished is
 * answered from the bounded result cache; one still running is not started again; a result
 * that could not be sent (stream down) is remembered and re-sent after the next Welcome.
 * Each command runs concurrently under its own deadline timer.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Clock } from "@streamspace/common/clock";
import type { Logger } from "@streamspace/common/log";
import { extractContext, inSpan, SpanKind, SpanStatusCode } from "@streamspace/common/tracing";
import type {
  AgentMessageSchema,
  Command,
  CommandResult,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { type CommandContext, type CommandOutcome, runCommand } from "./command-runner.ts";
import { CompletedCommands } from "./completed-commands.ts";

/** A frame the agent sends. */
export type Outgoing = MessageInitShape<typeof AgentMessageSchema>;

/** What the tracker needs from the runtime. */
export interface CommandTrackerOptions {
  clock: Clock;
  log: Logger;
  context: Omit<CommandContext, "log">;
  /** Queues a frame on the live stream; false when there is none (or it overflowed). */
  send(msg: Outgoing): boolean;
  /** Called with every finished command before its result is sent. */
  onFinished(cmd: Command, outcome: CommandOutcome): void;
  cacheSize?: number;
  defaultTimeoutMs?: number;
}

/** Dedupe, deadlines and result delivery for commands. */
export class CommandTracker {
  private readonly completed: CompletedCommands;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly unreported = new Set<string>();

  constructor(private readonly opts: CommandTrackerOptions) {
    this.completed = new CompletedCommands(opts.cacheSize ?? 4096);
  }

  /** Handles one delivery of a command. Never throws and never waits for the work. */
  handle(cmd: Command): void {
    const id = cmd.commandId;
    if (!id) {
      this.opts.log.warn("ignoring a command without command_id");
      return;
    }
    this.opts.send({ payload: { case: "commandAck", value: { commandId: id } } });
    const cached = this.completed.get(id);
    if (cached) {
      this.opts.log.info("redelivered command already finished; re-sending its result", {
        commandId: id,
      });
      this.report(cached);
      return;
    }
    if (this.inflight.has(id)) return;
    const { clock } = this.opts;
    const now = clock.now();
    const deadline = cmd.deadline
      ? timestampMs(cmd.deadline)
      : now + (this.opts.defaultTimeoutMs ?? 120_000);
    const ac = new AbortController();
    const timer = clock.setTimeout(() => ac.abort(), Math.max(0, deadline - now));
    // The trace context rides along in logs so one trace id links the click to this work.
    const traceparent = cmd.traceContext.traceparent;
    const log = this.opts.log.child(
      traceparent ? { commandId: id, traceparent } : { commandId: id },
    );
    // The work is a span in the caller's trace (the API request that wrote the command).
    const task = inSpan(
      `agent ${cmd.action.case ?? "unknown"}`,
      {
        parent: extractContext(cmd.traceContext),
        kind: SpanKind.CONSUMER,
        attributes: { "streamspace.command_id": id, "streamspace.session_id": sessionOf(cmd) },
      },
      async (span) => {
        const outcome = await runCommand(cmd, { ...this.opts.context, log }, ac.signal);
        if (!outcome.result.success) span.setStatus({ code: SpanStatusCode.ERROR });
        return outcome;
      },
    ).then((outcome) => {
      clock.clearTimeout(timer);
      // Arrival and finish times let the end-to-end bench split a session start into hops.
      log.debug("command finished", {
        action: cmd.action.case,
        sessionId: sessionOf(cmd),
        receivedAtMs: now,
        finishedAtMs: clock.now(),
        success: outcome.result.success,
      });
      this.inflight.delete(id);
      this.completed.set(id, outcome.result);
      this.opts.onFinished(cmd, outcome);
      this.report(outcome.result);
    });
    this.inflight.set(id, task);
  }

  /**
   * Re-sends up to `limit` results that found no stream. Paced by the caller (after Welcome and
   * on every heartbeat) so a backlog never overflows the new stream's queue at once.
   */
  flushUnreported(limit: number): void {
    for (const id of [...this.unreported].slice(0, Math.max(0, limit))) {
      this.unreported.delete(id);
      const r = this.completed.get(id);
      if (r) this.report(r);
    }
  }

  /** Remembers results that were queued on a stream that died before sending them. */
  requeue(unsent: Outgoing[]): void {
    for (const m of unsent) {
      if (m.payload?.case === "commandResult" && m.payload.value.commandId) {
        this.unreported.add(m.payload.value.commandId);
      }
    }
  }

  /** Ids for Hello.completed_command_ids. */
  recentIds(limit: number): string[] {
    return this.completed.recentIds(limit);
  }

  /** Resolves when every running command has finished. */
  async idle(): Promise<void> {
    await Promise.allSettled(this.inflight.values());
  }

  private report(result: CommandResult): void {
    if (!this.opts.send({ payload: { case: "commandResult", value: result } })) {
      this.unreported.add(result.commandId);
    }
  }
}

/** The session a command is about, for logs ("" for drain). */
function sessionOf(cmd: Command): string {
  const a = cmd.action;
  return a.case && a.case !== "drain" ? a.value.sessionId : "";
}
