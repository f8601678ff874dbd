/**
 * MemoryAgentHub: the single-process hub (npm start, unit tests). Several hubs may share one
 * MemoryHubNetwork so the shared suite can exercise cross-pod routing without Redis.
 */
import type {
  AgentHub,
  AgentRoute,
  HubMessage,
  HubSendResult,
  HubStatus,
} from "../gateway/agent-hub.ts";

/** The shared "Redis" of in-memory hubs: routes and one handler per pod. */
export class MemoryHubNetwork {
  readonly routes = new Map<string, AgentRoute>();
  readonly pods = new Map<string, (msg: HubMessage) => void>();
}

/** In-memory AgentHub; messages to another pod on the same network are delivered async. */
export class MemoryAgentHub implements AgentHub {
  private handler: ((msg: HubMessage) => void) | undefined;

  constructor(
    readonly pod: string,
    private readonly net: MemoryHubNetwork = new MemoryHubNetwork(),
  ) {}

  async start(onMessage: (msg: HubMessage) => void): Promise<void> {
    this.handler = onMessage;
    this.net.pods.set(this.pod, onMessage);
  }

  async register(agentId: string, connectionId: string): Promise<void> {
    this.net.routes.set(agentId, { pod: this.pod, connectionId });
  }

  async refresh(agentId: string, connectionId: string): Promise<void> {
    this.net.routes.set(agentId, { pod: this.pod, connectionId });
  }

  async unregister(agentId: string, connectionId: string): Promise<void> {
    const r = this.net.routes.get(agentId);
    if (r && r.pod === this.pod && r.connectionId === connectionId) this.net.routes.delete(agentId);
  }

  async route(agentId: string): Promise<AgentRoute | undefined> {
    const r = this.net.routes.get(agentId);
    return r && { ...r };
  }

  async send(msg: HubMessage): Promise<HubSendResult> {
    const r = this.net.routes.get(msg.agentId);
    if (!r) return "offline";
    if (r.pod === this.pod && this.handler) {
      this.handler(msg);
      return "local";
    }
    const remote = this.net.pods.get(r.pod);
    if (!remote) return "offline";
    queueMicrotask(() => remote(msg));
    return "remote";
  }

  status(): HubStatus {
    return { state: "ok", detail: "memory" };
  }

  async close(): Promise<void> {
    if (this.net.pods.get(this.pod) === this.handler) this.net.pods.delete(this.pod);
    for (const [agentId, r] of this.net.routes) {
      if (r.pod === this.pod) this.net.routes.delete(agentId);
    }
    this.handler = undefined;
  }
}
