/**
 * The outbox as delivery sees it: claim rows to send (so two pods never send the same row in
 * the same attempt), and find rows whose agent stayed away past the command deadline.
 * store/pg-command-store.ts (PgCommandStore, agent_commands' one writer) implements it.
 */

/** One row claimed for sending: the payload is the binary streamspace.agent.v1.Command. */
export interface ClaimedCommand {
  id: string;
  payload: Uint8Array;
}

/** A claimed row with the agent it is for (claims over many agents at once). */
export interface ClaimedAgentCommand extends ClaimedCommand {
  agentId: string;
}

/** An agent's CommandAck: the agent has the command and will run it. */
export interface CommandAckRecord {
  agentId: string;
  commandId: string;
}

/** Which rows a claim takes. */
export type ClaimMode =
  /** New rows and rows whose ack deadline passed (the steady-state sweep and pokes). */
  | { kind: "due" }
  /**
   * Everything not finished that was not already sent on this stream: whatever was sent
   * before went down a dead stream. Acked rows are resent too, so an agent that finished a
   * command whose result was lost answers again from its dedupe memory. Rows sent on this
   * stream carry an ack deadline at or after `resendBefore`, which is how they are told apart.
   */
  | { kind: "reconnect"; resendBefore: Date };

/** A row whose command deadline passed before the agent finished it. */
export interface ExpiredCommand {
  id: string;
  agentId: string;
}

/** Port over the outbox table. */
export interface OutboxClaims {
  /**
   * Atomically marks up to `limit` rows of the agent as sent (attempts + 1, ack deadline set)
   * and returns them oldest first. Concurrent claimers never get the same row.
   */
  claim(
    agentId: string,
    mode: ClaimMode,
    now: Date,
    ackDeadline: Date,
    limit: number,
  ): Promise<ClaimedCommand[]>;
  /**
   * The "due" claim for many agents in one statement (pokes coalesced per event-loop turn):
   * up to `limit` rows in total, oldest first within each agent. A result of exactly `limit`
   * rows means some agents may have more. `acks`, when given, are applied in the same
   * statement exactly as acknowledge() would (fewer statements per command); their rows are
   * never claimed by it.
   */
  claimDue(
    agentIds: string[],
    now: Date,
    ackDeadline: Date,
    limit: number,
    acks?: CommandAckRecord[],
  ): Promise<ClaimedAgentCommand[]>;
  /**
   * Marks sent (or pending) rows acked, many at once; rows already acked or finished and rows
   * of another agent are left alone, so a late or forged ack never moves a row backwards.
   * Returns how many rows changed.
   */
  acknowledge(acks: CommandAckRecord[]): Promise<number>;
  /** Agents among `agentIds` with rows due now (pending, or sent past the ack deadline). */
  agentsWithDue(agentIds: string[], now: Date): Promise<string[]>;
  /** Unfinished rows past their command deadline. */
  expired(now: Date, limit: number): Promise<ExpiredCommand[]>;
}
