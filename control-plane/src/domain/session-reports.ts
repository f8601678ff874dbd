/**
 * What agents tell us, applied to Postgres: command acks and results, observed session changes
 * and the full inventory on reconnect. The gateway calls these; each is one transaction that
 * updates the command row and the session together, and is idempotent, because delivery is
 * at-least-once and the same result may arrive twice.
 *
 * Reports follow the state machine, with one deliberate widening: an agent may report
 * `stopped` or `failed` from any live state (a desktop can exit on its own), skipping the
 * intermediate `stopping`. A report that would move a finished session back to life is
 * answered with "stale" so the gateway can tell the agent to stop it. A report the machine
 * cannot apply to a live session the database places on this very agent is never stale: the
 * agent owns that session, so nothing may be stopped because of it. Either a command is still
 * on its way ("pending": the agent reports the state the session had before a hibernate, wake
 * or stop it has not run yet; the outbox redelivers that command, which then completes or
 * fails the session with a reason), or the two sides disagree ("conflict", logged).
 */
import type {
  CommandResult,
  SessionReport,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import type { OutboxNotifier, Repos, SessionChange, SessionChangeBus, Store } from "./ports.ts";
import { sessionStateFromProto } from "./proto-mapping.ts";
import { canTransition, isTerminal } from "./session-state.ts";
import { transition } from "./session-transition.ts";
import type { Session, SessionState } from "./types.ts";
import { isUuid, storable } from "./validation.ts";

/** What became of one report, for the gateway's logs and follow-up (e.g. stop a stale one). */
export type ReportOutcome =
  | "applied"
  | "unchanged"
  | "unknown"
  | "foreign"
  | "stale"
  | "pending"
  | "conflict"
  | "invalid";

/**
 * The states a session may still be in on its agent while the command that moves it to
 * `state` has not run there yet: the agent reports one of these until it runs the command.
 */
const BEFORE_COMMAND: Partial<Record<SessionState, readonly SessionState[]>> = {
  hibernating: ["running"],
  waking: ["hibernated"],
  stopping: ["scheduled", "starting", "running", "hibernating", "hibernated", "waking"],
};

/** Why a report the machine cannot apply is not acted on (see the file comment). */
function unappliable(current: SessionState, reported: SessionState): ReportOutcome {
  if (isTerminal(current)) return "stale";
  return BEFORE_COMMAND[current]?.includes(reported) ? "pending" : "conflict";
}

export interface SessionReportsDeps {
  store: Store;
  bus: SessionChangeBus;
  notifier?: OutboxNotifier;
}

/** Builds the report-application API the gateway wires to its stream handlers. */
export function createSessionReports(deps: SessionReportsDeps) {
  const { store, bus } = deps;

  async function applyIn(
    tx: Repos,
    agentId: string,
    r: SessionReport,
    changes: SessionChange[],
  ): Promise<ReportOutcome> {
    const to = sessionStateFromProto(r.state);
    if (!to || !isUuid(r.sessionId)) return "invalid";
    r = { ...r, reason: storable(r.reason), vncEndpoint: storable(r.vncEndpoint) };
    const s = await tx.sessions.get(r.sessionId, { forUpdate: true });
    if (!s) return "unknown";
    if (s.agentId !== agentId) return "foreign";
    const actor = `agent:${agentId}`;
    if (s.state === to) {
      if (!r.vncEndpoint || r.vncEndpoint === s.vncEndpoint) return "unchanged";
      const u = await transition(tx, s, to, {
        reason: r.reason || s.stateReason,
        actor,
        vncEndpoint: r.vncEndpoint,
        force: true,
      });
      changes.push({ session: u, deleted: false });
      return "applied";
    }
    const observedExit = (to === "stopped" || to === "failed") && !isTerminal(s.state);
    if (!canTransition(s.state, to) && !observedExit) return unappliable(s.state, to);
    const u: Session = await transition(tx, s, to, {
      // A reason a person reads under the badge, so a sentence, not a log fragment.
      reason: r.reason || `The agent reported the desktop ${to}.`,
      actor,
      vncEndpoint: r.vncEndpoint || undefined,
      force: observedExit,
    });
    if (u.state === "stopped" && u.deleteRequested) {
      await tx.sessions.delete(u.id);
      changes.push({ session: u, deleted: true });
    } else {
      changes.push({ session: u, deleted: false });
    }
    return "applied";
  }

  const publish = (changes: SessionChange[]) => {
    for (const c of changes) bus.publish(c);
  };

  return {
    /** A state change the agent observed, or the session part of a command result. */
    async applySessionReport(agentId: string, report: SessionReport): Promise<ReportOutcome> {
      const changes: SessionChange[] = [];
      const out = await store.transaction((tx) => applyIn(tx, agentId, report, changes));
      publish(changes);
      return out;
    },

    /** Stops redelivery: the agent has the command and will run it. */
    async acknowledgeCommand(agentId: string, commandId: string): Promise<boolean> {
      if (!isUuid(commandId)) return false;
      const cmd = await store.commands.get(commandId);
      if (!cmd || cmd.agentId !== agentId) return false;
      if (cmd.status === "pending" || cmd.status === "sent") {
        await store.commands.setStatus(commandId, "acked");
      }
      return true;
    },

    /**
     * Completes the outbox row and applies the session the agent reports, in one transaction.
     * A failure without a session report fails the session with the agent's message.
     */
    async applyCommandResult(
      agentId: string,
      result: CommandResult,
    ): Promise<ReportOutcome | "duplicate"> {
      const changes: SessionChange[] = [];
      const out = await store.transaction(async (tx) => {
        if (!isUuid(result.commandId)) return "unknown" as const;
        const cmd = await tx.commands.get(result.commandId);
        if (!cmd || cmd.agentId !== agentId) return "unknown" as const;
        if (cmd.status === "completed" || cmd.status === "failed") return "duplicate" as const;
        const error = result.success
          ? null
          : storable(result.errorMessage) || "the agent reported a failure";
        await tx.commands.setStatus(cmd.id, result.success ? "completed" : "failed", error);
        if (result.session) return applyIn(tx, agentId, result.session, changes);
        if (!result.success && cmd.sessionId) {
          const s = await tx.sessions.get(cmd.sessionId, { forUpdate: true });
          if (s && !isTerminal(s.state)) {
            const u = await transition(tx, s, "failed", {
              reason: error ?? "",
              actor: `agent:${agentId}`,
            });
            changes.push({ session: u, deleted: false });
          }
        }
        return "applied" as const;
      });
      publish(changes);
      return out;
    },

    /**
     * Hello's inventory: apply each reported session. Sessions the database places on this
     * agent in a live state but that the agent does not report are failed ("lost"), since the
     * agent's full inventory is the truth about what runs there.
     */
    async reconcileInventory(
      agentId: string,
      reports: SessionReport[],
    ): Promise<{ outcomes: Map<string, ReportOutcome>; lost: string[] }> {
      const outcomes = new Map<string, ReportOutcome>();
      for (const r of reports) outcomes.set(r.sessionId, await this.applySessionReport(agentId, r));
      const reported = new Set(reports.map((r) => r.sessionId));
      const lost: string[] = [];
      const { items: liveOnAgent } = await store.sessions.list({
        limit: 10_000,
        agentId,
        states: ["starting", "running", "hibernating", "hibernated", "waking", "stopping"],
      });
      for (const s of liveOnAgent) {
        if (reported.has(s.id) || isTerminal(s.state) || s.state === "scheduled") continue;
        const changes: SessionChange[] = [];
        await store.transaction(async (tx) => {
          const cur = await tx.sessions.get(s.id, { forUpdate: true });
          if (!cur || cur.agentId !== agentId || isTerminal(cur.state) || cur.state === "scheduled")
            return;
          // A stopping session the agent no longer runs has simply finished stopping.
          const to = cur.state === "stopping" ? "stopped" : "failed";
          const u = await transition(tx, cur, to, {
            reason:
              to === "stopped"
                ? "stopped"
                : "the agent reconnected without this session; it was lost",
            actor: `agent:${agentId}`,
          });
          if (u.state === "stopped" && u.deleteRequested) await tx.sessions.delete(u.id);
          changes.push({ session: u, deleted: u.state === "stopped" && u.deleteRequested });
          if (to === "failed") lost.push(s.id);
        });
        publish(changes);
      }
      return { outcomes, lost };
    },
  };
}

/** The report API's type, for the gateway's wiring. */
export type SessionReports = ReturnType<typeof createSessionReports>;
