/**
 * Reconciliation on Hello: the agent's full inventory against what Postgres expects. Rules,
 * in the order they apply (the database-side ones are implemented by the core's report API,
 * domain/session-reports.ts; this file adds the agent-side follow-up):
 *
 *  1. Reported and placed on this agent in the database, state differs: the agent is right
 *     about what runs, so the report is applied through the state machine. A report that
 *     would revive a finished session is "stale" (rule 3). A report the machine cannot apply
 *     to a live session is never stale and never stops anything: when it is the state before
 *     a hibernate, wake or stop the agent has not run yet ("pending"), that command is still
 *     in the outbox and is redelivered, so it completes as asked or fails with a reason;
 *     anything else is a "conflict", logged and left alone.
 *  2. Placed on this agent in a live state but not reported: it is gone. `stopping` becomes
 *     `stopped` (it finished stopping); anything else becomes `failed` with the reason "the
 *     agent reconnected without this session; it was lost". `scheduled` sessions are left
 *     alone: their start command is still in the outbox and is redelivered. Agents report
 *     sessions that ended while nobody heard (stopped with their system, exited while the
 *     agent was down) in Hello as `stopped` with a reason, so those follow rule 1 and end
 *     stopped; this rule is left for sessions an agent cannot account for.
 *  3. Reported but unknown to the database, placed on another agent, or already finished
 *     there ("stale"): nobody can reach or account for it, so the agent is told to stop it
 *     with a StopSession command through the outbox (durable, deduped like any command).
 *     Reports that already say stopped/failed need nothing.
 *  4. Malformed reports (not a UUID, unknown state) are logged and ignored; one bad entry
 *     never blocks the rest of the inventory.
 * Session events observed later follow rules 1, 3 and 4 one report at a time, and so does the
 * session report inside a command result: commands for one session can overtake each other
 * (a hibernate redelivered after its ack deadline arrives after the stop that followed it), and
 * a result that reports a finished session alive means the agent runs an orphan again.
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  CommandSchema,
  type SessionReport,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import type { NewCommand } from "../domain/ports.ts";
import type { ReportOutcome } from "../domain/session-reports.ts";
import type { GatewayLogger, SessionReconciler } from "./gateway-ports.ts";

/** The report API of the core, as far as reconciliation uses it. */
export interface InventoryReports {
  reconcileInventory(
    agentId: string,
    reports: SessionReport[],
  ): Promise<{ outcomes: Map<string, ReportOutcome>; lost: string[] }>;
  applySessionReport(agentId: string, report: SessionReport): Promise<ReportOutcome>;
}

/** What the reconciler needs besides the reports: a way to enqueue a stop and deliver it. */
export interface ReconcilerDeps {
  reports: InventoryReports;
  enqueue: (c: NewCommand) => Promise<void>;
  notify: (agentId: string) => void;
  log: GatewayLogger;
  /** Deadline of the StopSession commands rule 3 sends. */
  stopDeadlineMs?: number;
  now?: () => number;
}

const ORPHAN: ReadonlySet<ReportOutcome> = new Set(["unknown", "foreign", "stale"]);
const FINISHED = new Set([SessionState.STOPPED, SessionState.FAILED]);

/** Builds the reconciler the gateway calls on Hello and on every SessionEvent. */
export function createSessionReconciler(deps: ReconcilerDeps): SessionReconciler {
  const now = deps.now ?? Date.now;

  async function stopOrphans(
    agentId: string,
    reports: SessionReport[],
    outcomes: Map<string, ReportOutcome>,
  ) {
    let sent = 0;
    for (const r of reports) {
      const outcome = outcomes.get(r.sessionId);
      if (outcome === "invalid") {
        deps.log.warn("ignored a malformed session report", { agentId, sessionId: r.sessionId });
        continue;
      }
      if (outcome === "conflict") {
        deps.log.warn("a session report disagrees with the database; left as it is", {
          agentId,
          sessionId: r.sessionId,
          reported: SessionState[r.state],
        });
        continue;
      }
      if (!outcome || !ORPHAN.has(outcome) || FINISHED.has(r.state)) continue;
      const id = randomUUID();
      const deadline = new Date(now() + (deps.stopDeadlineMs ?? 5 * 60_000));
      const cmd = create(CommandSchema, {
        commandId: id,
        deadline: timestampFromDate(deadline),
        action: { case: "stopSession", value: { sessionId: r.sessionId } },
      });
      await deps.enqueue({
        id,
        agentId,
        sessionId: null,
        kind: "stop_session",
        payload: toBinary(CommandSchema, cmd),
        deadline,
      });
      deps.log.info("stopping a session the database does not place on this agent", {
        agentId,
        sessionId: r.sessionId,
        outcome,
      });
      sent++;
    }
    if (sent > 0) deps.notify(agentId);
  }

  return {
    async reconcile(agentId, sessions) {
      const { outcomes, lost } = await deps.reports.reconcileInventory(agentId, sessions);
      if (lost.length > 0) deps.log.warn("sessions lost by their agent", { agentId, lost });
      await stopOrphans(agentId, sessions, outcomes);
    },
    async sessionEvent(agentId, report) {
      const outcome = await deps.reports.applySessionReport(agentId, report);
      await stopOrphans(agentId, [report], new Map([[report.sessionId, outcome]]));
    },
    async afterResult(agentId, report, outcome) {
      if (typeof outcome !== "string" || !ORPHAN.has(outcome as ReportOutcome)) return;
      await stopOrphans(agentId, [report], new Map([[report.sessionId, outcome as ReportOutcome]]));
    },
  };
}
