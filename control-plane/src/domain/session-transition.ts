/**
 * The single write path for sessions.state inside a transaction: check the state machine,
 * bump the version (guarded), write the session_events row, and give the agent's slot back when
 * the session reaches a terminal state. User operations and agent reports both call it.
 */
import { DomainError, failedPrecondition } from "./errors.ts";
import type { Repos, SessionPatch } from "./ports.ts";
import { canTransition, isTerminal } from "./session-state.ts";
import type { Session, SessionState } from "./types.ts";

/** Options for one transition; `force` skips the table for observed exits (see reports). */
export interface TransitionOptions {
  reason: string;
  actor: string;
  vncEndpoint?: string;
  deleteRequested?: boolean;
  force?: boolean;
}

/** Moves `s` (read FOR UPDATE in this transaction) to `to`; returns the new row. */
export async function transition(
  tx: Repos,
  s: Session,
  to: SessionState,
  o: TransitionOptions,
): Promise<Session> {
  if (!o.force && !canTransition(s.state, to)) {
    throw failedPrecondition(`Session ${s.id} is ${s.state}; it cannot become ${to}.`);
  }
  const release = s.holdsCapacity && isTerminal(to);
  if (release && s.agentId) await tx.agents.release(s.agentId);
  const patch: SessionPatch = {
    state: to,
    stateReason: o.reason,
    holdsCapacity: release ? false : s.holdsCapacity,
    vncEndpoint: o.vncEndpoint,
    deleteRequested: o.deleteRequested,
  };
  const updated = await tx.sessions.update(s.id, s.version, patch);
  if (!updated) {
    throw new DomainError(
      "aborted",
      `Session ${s.id} changed while this request was updating it; read it again and retry.`,
    );
  }
  await tx.sessions.addEvent({
    sessionId: s.id,
    fromState: s.state,
    toState: to,
    reason: o.reason,
    version: updated.version,
    actor: o.actor,
  });
  return updated;
}
