/**
 * Builds outbox rows: the binary streamspace.agent.v1.Command an agent will receive, with its
 * id and deadline fixed at enqueue time, so a redelivered command is byte-for-byte the same and
 * the agent can dedupe it by id.
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Command,
  CommandSchema,
  DrainSchema,
  HibernateSessionSchema,
  StartSessionSchema,
  StopSessionSchema,
  WakeSessionSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import type { NewCommand } from "./ports.ts";
import { templateToProto } from "./proto-mapping.ts";
import type { CommandKind, Session, Template } from "./types.ts";

/** How long an agent has to finish a command before it is reported as timed out. */
export const COMMAND_DEADLINE_MS = 5 * 60_000;

type Action =
  | { kind: "start_session"; session: Session; template: Template }
  | { kind: "stop_session" | "hibernate_session" | "wake_session"; session: Session }
  | { kind: "drain"; agentId: string };

function actionOf(a: Action): Command["action"] {
  switch (a.kind) {
    case "start_session":
      return {
        case: "startSession",
        value: create(StartSessionSchema, {
          sessionId: a.session.id,
          ownerId: a.session.ownerId,
          template: templateToProto(a.template),
        }),
      };
    case "stop_session":
      return { case: "stopSession", value: create(StopSessionSchema, { sessionId: a.session.id }) };
    case "hibernate_session":
      return {
        case: "hibernateSession",
        value: create(HibernateSessionSchema, { sessionId: a.session.id }),
      };
    case "wake_session":
      return { case: "wakeSession", value: create(WakeSessionSchema, { sessionId: a.session.id }) };
    case "drain":
      return { case: "drain", value: create(DrainSchema, {}) };
  }
}

/** One outbox row for the action, addressed to the session's (or the named) agent. */
export function buildCommand(
  a: Action,
  now: Date,
  traceContext: Record<string, string> = {},
): NewCommand {
  const id = randomUUID();
  const deadline = new Date(now.getTime() + COMMAND_DEADLINE_MS);
  const msg = create(CommandSchema, {
    commandId: id,
    deadline: timestampFromDate(deadline),
    traceContext,
    action: actionOf(a),
  });
  const agentId = a.kind === "drain" ? a.agentId : a.session.agentId;
  return {
    id,
    agentId,
    sessionId: a.kind === "drain" ? null : a.session.id,
    kind: a.kind as CommandKind,
    payload: toBinary(CommandSchema, msg),
    deadline,
  };
}
