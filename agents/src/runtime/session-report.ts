/**
 * Converts between what a driver knows (DriverSession) and the wire's SessionReport, in one
 * place so Hello, CommandResult and SessionEvent can never disagree.
 */
import { create } from "@bufbuild/protobuf";
import {
  type SessionReport,
  SessionReportSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import type { DriverSession, DriverSessionState } from "./driver.ts";

const STATES: Record<DriverSessionState, SessionState> = {
  running: SessionState.RUNNING,
  hibernated: SessionState.HIBERNATED,
  stopped: SessionState.STOPPED,
  failed: SessionState.FAILED,
};

/** A driver's view of a session as the proto the control plane reconciles with. */
export function toSessionReport(s: DriverSession): SessionReport {
  return create(SessionReportSchema, {
    sessionId: s.sessionId,
    state: STATES[s.state],
    vncEndpoint: s.endpoint ? `${s.endpoint.host}:${s.endpoint.port}` : "",
    reason: s.reason ?? "",
  });
}
