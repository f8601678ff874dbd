/**
 * The ports the gateway calls into for work that is not about streams: outbox delivery and
 * session reconciliation (both over Postgres), logging and time. Kept narrow so unit tests can
 * record calls, and so the gateway never imports the store.
 */
import type {
  CommandResult,
  SessionReport,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import type { AgentConnection } from "./agent-connection.ts";

/** Outbox delivery as the gateway drives it (implemented by command-dispatcher.ts). */
export interface GatewayDispatcher {
  /** A stream is up: send every command not yet acknowledged (redelivery on reconnect). */
  agentConnected(conn: AgentConnection, completedCommandIds: string[]): Promise<void>;
  /** The outbox has new rows for an agent whose stream this pod holds. */
  poke(agentId: string): void;
  ack(agentId: string, commandId: string): Promise<void>;
  result(agentId: string, result: CommandResult): Promise<unknown>;
  /**
   * Resolves when delivery has nothing in flight: no claim queued or running, no sweep, no ack
   * waiting for its write. Tests wait here for "everything that was going to happen did".
   */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Reconciliation of what an agent reports with what the database expects. */
export interface SessionReconciler {
  /** Hello's full inventory (rules in session-reconciler.ts). */
  reconcile(agentId: string, sessions: SessionReport[]): Promise<void>;
  /** A state change the agent observed on its own. */
  sessionEvent(agentId: string, report: SessionReport): Promise<void>;
  /**
   * The session part of a command result, already applied with `outcome`: a late result that
   * reports a finished session alive (a hibernate overtaken by a stop) gets rule 3's stop.
   */
  afterResult?(agentId: string, report: SessionReport, outcome: unknown): Promise<void>;
}

/**
 * The logging the gateway needs; the kit's Logger (@streamspace/common/log) satisfies it, and
 * unit tests pass a recorder.
 */
export interface GatewayLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A dispatcher that delivers nothing: the skeleton before the outbox exists. */
export const NO_DISPATCH: GatewayDispatcher = {
  agentConnected: async () => {},
  poke: () => {},
  ack: async () => {},
  result: async () => {},
  idle: async () => {},
  close: async () => {},
};

/** A reconciler that accepts everything: the skeleton before sessions exist. */
export const NO_RECONCILE: SessionReconciler = {
  reconcile: async () => {},
  sessionEvent: async () => {},
};
