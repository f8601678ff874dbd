/**
 * The session lifecycle of DESIGN.md §4 as one table. Every write of sessions.state goes
 * through canTransition(), for user operations and agent reports alike, so a stale or replayed
 * report can never move a session backwards (e.g. stopped → running).
 */
import { failedPrecondition } from "./errors.ts";
import type { SessionState } from "./types.ts";

/**
 * Allowed successors of each state. Beyond the happy path: an agent may report `running`
 * straight from `scheduled` (it skipped reporting `starting`), `pending` can stop without an
 * agent, and a `failed` session may still be stopped so the agent cleans up what is left.
 * `stopped` is final; `failed` is reachable from every state that is not final.
 */
export const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  pending: ["scheduled", "stopped", "failed"],
  scheduled: ["starting", "running", "stopping", "failed"],
  starting: ["running", "stopping", "failed"],
  running: ["hibernating", "stopping", "failed"],
  hibernating: ["hibernated", "stopping", "failed"],
  hibernated: ["waking", "stopping", "failed"],
  waking: ["running", "stopping", "failed"],
  stopping: ["stopped", "failed"],
  stopped: [],
  failed: ["stopping"],
};

/** True when `from → to` is a legal single step. Same-state is not a transition. */
export function canTransition(from: SessionState, to: SessionState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** States after which the session holds no capacity on its agent. */
export function isTerminal(s: SessionState): boolean {
  return s === "stopped" || s === "failed";
}

/** The user operations and the states they start from; the message names what is allowed. */
const OPERATIONS = {
  hibernate: { from: ["running"], to: "hibernating", verb: "hibernated", need: "running" },
  wake: { from: ["hibernated"], to: "waking", verb: "woken", need: "hibernated" },
  stop: {
    from: ["scheduled", "starting", "running", "hibernating", "hibernated", "waking", "failed"],
    to: "stopping",
    verb: "stopped",
    need: "active or failed",
  },
} as const satisfies Record<
  string,
  { from: readonly SessionState[]; to: SessionState; verb: string; need: string }
>;

/** A user operation that moves a session through the state machine. */
export type SessionOperation = keyof typeof OPERATIONS;

/**
 * The target state of an operation, or a failed_precondition a person can act on, such as
 * "Session s-1 is stopped; only running sessions can be hibernated."
 */
export function targetOf(op: SessionOperation, id: string, current: SessionState): SessionState {
  const rule = OPERATIONS[op];
  if (!(rule.from as readonly SessionState[]).includes(current)) {
    throw failedPrecondition(
      `Session ${id} is ${current}; only ${rule.need} sessions can be ${rule.verb}.`,
    );
  }
  return rule.to;
}
