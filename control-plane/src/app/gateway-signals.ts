/**
 * The domain and the agent gateway need each other: the services enqueue commands and revoke
 * or rotate credentials (the gateway must hear of it at once), while the gateway hands agents'
 * reports to the domain. Rather than a variable filled in later, the domain publishes into
 * this small fan-out, built before both, and the gateway subscribes when it exists. Until a
 * gateway listens nothing is lost: the outbox rows are in Postgres and the gateway's own
 * sweep delivers them, and no request is served before the HTTP part starts.
 */
import type { CredentialPusher } from "../domain/agent-service.ts";
import type { OutboxNotifier, RevokedAgentCutter } from "../domain/ports.ts";

/** The gateway calls a listener answers (Gateway satisfies it). */
export interface GatewaySignalListener {
  commandsEnqueued(agentId: string): void;
  cutAgent(agentId: string, reason: string): Promise<void>;
  issueCredential(agentId: string, credential: string): Promise<void>;
}

/** The domain's three outward ports in one object, forwarding to whoever listens. */
export interface GatewaySignals extends OutboxNotifier, RevokedAgentCutter, CredentialPusher {
  /** Starts forwarding to `listener`; returns the function that stops it. */
  listen(listener: GatewaySignalListener): () => void;
}

/** Builds the fan-out; listeners are few (one gateway per pod), so a Set is enough. */
export function createGatewaySignals(): GatewaySignals {
  const listeners = new Set<GatewaySignalListener>();
  return {
    commandsEnqueued(agentId) {
      for (const l of listeners) l.commandsEnqueued(agentId);
    },
    cut(agentId) {
      for (const l of listeners) void l.cutAgent(agentId, "credential revoked");
    },
    credentialIssued(agentId, credential) {
      for (const l of listeners) void l.issueCredential(agentId, credential);
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
