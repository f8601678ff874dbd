/**
 * Runs one Command against the driver and always produces a CommandResult (never throws):
 * refusals and failures become `success=false` with a sentence a person can act on, so the
 * control plane can mark the session failed with a useful reason.
 */
import { create } from "@bufbuild/protobuf";
import type { Logger } from "@streamspace/common/log";
import {
  type Command,
  type CommandResult,
  CommandResultSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { type Driver, DriverError, type DriverSession } from "./driver.ts";
import { toSessionReport } from "./session-report.ts";

/** The runtime state a command may read or change. */
export interface CommandContext {
  driver: Driver;
  log: Logger;
  maxSessions: number;
  /** Sessions the agent currently holds (for the capacity check). */
  activeSessions(): number;
  hasSession(id: string): boolean;
  isDraining(): boolean;
  setDraining(): void;
}

function failure(commandId: string, message: string, session?: DriverSession): CommandResult {
  return create(CommandResultSchema, {
    commandId,
    success: false,
    errorMessage: message,
    session: session ? toSessionReport(session) : undefined,
  });
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () =>
      reject(
        new DriverError(
          "unavailable",
          "the command's deadline passed before it finished; the control plane may retry it",
        ),
      );
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

async function dispatch(
  cmd: Command,
  ctx: CommandContext,
  signal: AbortSignal,
): Promise<DriverSession | undefined> {
  const a = cmd.action;
  switch (a.case) {
    case "startSession": {
      const { sessionId, template } = a.value;
      if (!sessionId) throw new DriverError("invalid_argument", "StartSession needs a session_id");
      if (!template)
        throw new DriverError(
          "invalid_argument",
          `StartSession for ${sessionId} carries no template`,
        );
      if (!ctx.hasSession(sessionId)) {
        if (ctx.isDraining())
          throw new DriverError(
            "capacity",
            "this agent is draining and accepts no new sessions; schedule the session elsewhere",
          );
        if (ctx.activeSessions() >= ctx.maxSessions) {
          throw new DriverError(
            "capacity",
            `this agent is at capacity (${ctx.maxSessions} sessions); schedule the session elsewhere`,
          );
        }
      }
      return ctx.driver.start({ sessionId, ownerId: a.value.ownerId, template }, signal);
    }
    case "stopSession":
      if (!a.value.sessionId)
        throw new DriverError("invalid_argument", "StopSession needs a session_id");
      return ctx.driver.stop(a.value.sessionId, signal);
    case "hibernateSession":
      if (!a.value.sessionId)
        throw new DriverError("invalid_argument", "HibernateSession needs a session_id");
      return ctx.driver.hibernate(a.value.sessionId, signal);
    case "wakeSession":
      if (!a.value.sessionId)
        throw new DriverError("invalid_argument", "WakeSession needs a session_id");
      return ctx.driver.wake(a.value.sessionId, signal);
    case "drain":
      ctx.setDraining();
      return undefined;
    default:
      throw new DriverError(
        "invalid_argument",
        "the command carries no action this agent knows; upgrade the agent",
      );
  }
}

/** A finished command: the wire result and, on success, the session as the driver left it. */
export interface CommandOutcome {
  result: CommandResult;
  session?: DriverSession;
}

/** Runs `cmd` until done or until `signal` (the command's deadline) fires. Never throws. */
export async function runCommand(
  cmd: Command,
  ctx: CommandContext,
  signal: AbortSignal,
): Promise<CommandOutcome> {
  try {
    const session = await Promise.race([dispatch(cmd, ctx, signal), aborted(signal)]);
    const result = create(CommandResultSchema, {
      commandId: cmd.commandId,
      success: true,
      session: session ? toSessionReport(session) : undefined,
    });
    return { result, session };
  } catch (err) {
    if (err instanceof DriverError) return { result: failure(cmd.commandId, err.message) };
    ctx.log.error("command failed", { commandId: cmd.commandId, err });
    const why = (err as Error)?.message ?? String(err);
    return { result: failure(cmd.commandId, `the ${ctx.driver.name} driver failed: ${why}`) };
  }
}
