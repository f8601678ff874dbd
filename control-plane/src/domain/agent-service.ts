/**
 * AgentService in domain terms: operators read, admins approve, revoke, drain and rotate.
 * Credentials are shown exactly once and stored hashed; revocation also cuts the live stream
 * through the gateway, so a revoked agent cannot keep running commands on an open connection.
 */
import { requireRole } from "./access.ts";
import { buildCommand } from "./commands.ts";
import { hashCredential, newAgentCredential } from "./credentials.ts";
import { decodeKeyToken, encodeToken } from "./cursor.ts";
import { failedPrecondition, notFound } from "./errors.ts";
import type { OutboxNotifier, RevokedAgentCutter, Store } from "./ports.ts";
import type { Principal } from "./principal.ts";
import type { Agent, AgentState } from "./types.ts";
import { DEFAULT_PAGE_SIZE, parse, schemas } from "./validation.ts";

/** Pushes a freshly issued credential down the agent's stream (the gateway implements it). */
export interface CredentialPusher {
  credentialIssued(agentId: string, credential: string): void;
}

export interface AgentServiceDeps {
  store: Store;
  cutter?: RevokedAgentCutter;
  pusher?: CredentialPusher;
  notifier?: OutboxNotifier;
  now?: () => Date;
  /** W3C trace context of the request being served, carried in Drain commands. */
  traceContext?: () => Record<string, string>;
}

/** A page of agents, ordered by id. */
export interface AgentPage {
  agents: Agent[];
  nextPageToken: string;
}

const missing = (id: string) =>
  notFound(`Agent ${id} does not exist; ListAgents shows the agents that have connected.`);

/** Builds the service. */
export function createAgentService(deps: AgentServiceDeps) {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());

  async function issue(p: Principal, raw: unknown, mode: "approve" | "rotate") {
    requireRole(p, "admin", mode === "approve" ? "approve agents" : "rotate agent credentials");
    const { id } = parse(schemas.agentId, raw);
    const agent = await store.agents.get(id);
    if (!agent) throw missing(id);
    if (mode === "approve" && agent.state !== "pending") {
      throw failedPrecondition(
        `Agent ${id} is ${agent.state}; only pending agents can be approved.`,
      );
    }
    if (mode === "rotate" && (agent.state === "pending" || agent.state === "revoked")) {
      throw failedPrecondition(
        `Agent ${id} is ${agent.state}; approve it before rotating its credential.`,
      );
    }
    const credential = newAgentCredential();
    const next: AgentState | undefined =
      mode === "approve" ? (agent.pod ? "online" : "offline") : undefined;
    const updated = await store.agents.setCredentialHash(id, hashCredential(credential), next);
    if (!updated) throw missing(id);
    deps.pusher?.credentialIssued(id, credential);
    return { agent: updated, credential };
  }

  return {
    async list(
      p: Principal,
      input: { pageSize?: number; pageToken?: string; states?: AgentState[] },
    ): Promise<AgentPage> {
      requireRole(p, "operator", "list agents");
      const req = parse(schemas.listAgents, input);
      const limit = req.pageSize || DEFAULT_PAGE_SIZE;
      const agents = await store.agents.list(limit, decodeKeyToken("a", req.pageToken), req.states);
      const last = agents.at(-1);
      return {
        agents,
        nextPageToken: agents.length === limit && last ? encodeToken("a", [last.id]) : "",
      };
    },

    async get(p: Principal, input: { id: string }): Promise<Agent> {
      requireRole(p, "operator", "read agents");
      const { id } = parse(schemas.agentId, input);
      const a = await store.agents.get(id);
      if (!a) throw missing(id);
      return a;
    },

    approve: (p: Principal, input: { id: string }) => issue(p, input, "approve"),
    rotate: (p: Principal, input: { id: string }) => issue(p, input, "rotate"),

    /** Forgets the credential and cuts the stream; the agent must be approved again. */
    async revoke(p: Principal, input: { id: string }): Promise<Agent> {
      requireRole(p, "admin", "revoke agents");
      const { id } = parse(schemas.agentId, input);
      const a = await store.agents.setCredentialHash(id, null, "revoked");
      if (!a) throw missing(id);
      deps.cutter?.cut(id);
      return a;
    },

    /** No new sessions go to the agent; running ones stay. The agent also gets a Drain. */
    async drain(p: Principal, input: { id: string }): Promise<Agent> {
      requireRole(p, "admin", "drain agents");
      const { id } = parse(schemas.agentId, input);
      const a = await store.transaction(async (tx) => {
        const cur = await tx.agents.get(id);
        if (!cur) throw missing(id);
        if (cur.state === "revoked" || cur.state === "pending") {
          throw failedPrecondition(
            `Agent ${id} is ${cur.state}; only approved agents can be drained.`,
          );
        }
        if (cur.state === "draining") return cur;
        const next = await tx.agents.setState(id, "draining");
        await tx.commands.insert(
          buildCommand({ kind: "drain", agentId: id }, now(), deps.traceContext?.()),
        );
        return next ?? cur;
      });
      deps.notifier?.commandsEnqueued(id);
      return a;
    },
  };
}

/** The service's type, for wiring. */
export type AgentService = ReturnType<typeof createAgentService>;
