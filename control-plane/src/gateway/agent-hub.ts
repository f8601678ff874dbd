/**
 * AgentHub: which pod holds which agent's stream, and a way to reach that pod. The gateway is
 * the core that uses it; MemoryAgentHub (one pod) and RedisAgentHub (many pods) live in hub/.
 * The hub carries pokes and control frames, never truth: Postgres (the outbox) is the truth,
 * so a lost hub message only delays a command until the next redelivery sweep.
 */
import type { ControlMessage } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";

/** Where an agent's stream lives; the connection id tells two streams of one agent apart. */
export interface AgentRoute {
  pod: string;
  connectionId: string;
}

/** What one pod asks another to do for an agent whose stream it holds. */
export type HubMessage =
  /** Write this frame to the agent's stream (CredentialIssued after an admin approves, say). */
  | { kind: "control"; agentId: string; message: ControlMessage }
  /** The outbox holds rows for this agent: claim and send them. */
  | { kind: "deliver"; agentId: string }
  /** Cut the agent's stream now (revocation). */
  | { kind: "cut"; agentId: string; reason: string };

/** Where send() put a message: handled here, published to another pod, or nobody holds it. */
export type HubSendResult = "local" | "remote" | "offline";

/** Health of the hub for /ready: "degraded" means only local agents are reachable. */
export interface HubStatus {
  state: "ok" | "degraded";
  detail: string;
}

/** Port the gateway uses; both hubs pass one behaviour suite (hub/agent-hub-cases.ts). */
export interface AgentHub {
  readonly pod: string;
  /** Starts listening for messages addressed to this pod's agents. */
  start(onMessage: (msg: HubMessage) => void): Promise<void>;
  /** Records that this pod holds the agent's stream (on Hello). */
  register(agentId: string, connectionId: string): Promise<void>;
  /** Re-asserts the route (every heartbeat) so a flushed or restarted Redis heals itself. */
  refresh(agentId: string, connectionId: string): Promise<void>;
  /** Drops the route, but only if it still names this connection (a newer stream wins). */
  unregister(agentId: string, connectionId: string): Promise<void>;
  route(agentId: string): Promise<AgentRoute | undefined>;
  /** Hands the message to the pod holding the agent; never throws (degraded → local only). */
  send(msg: HubMessage): Promise<HubSendResult>;
  status(): HubStatus;
  close(): Promise<void>;
}
