/**
 * Connect handlers for streamspace.v1.AgentService, over the domain agent service.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { AgentService } from "@streamspace/proto/streamspace/v1/agent_service_pb";
import type { AgentService as Domain } from "../domain/agent-service.ts";
import { agentStateFromProto, agentToProto } from "../domain/proto-mapping.ts";
import type { AgentState } from "../domain/types.ts";
import { type ErrorLog, guard, principalOf } from "./handler-kit.ts";

/** Builds the AgentService implementation. */
export function agentServiceHandlers(
  agents: Domain,
  log: ErrorLog,
): ServiceImpl<typeof AgentService> {
  return {
    listAgents: (req, ctx) =>
      guard(log, async () => {
        const states = req.states.map((s) => agentStateFromProto(s) ?? (`#${s}` as AgentState));
        const page = await agents.list(principalOf(ctx), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          states,
        });
        return { agents: page.agents.map(agentToProto), nextPageToken: page.nextPageToken };
      }),
    getAgent: (req, ctx) =>
      guard(log, async () => ({
        agent: agentToProto(await agents.get(principalOf(ctx), { id: req.id })),
      })),
    approveAgent: (req, ctx) =>
      guard(log, async () => {
        const r = await agents.approve(principalOf(ctx), { id: req.id });
        return { agent: agentToProto(r.agent), credential: r.credential };
      }),
    revokeAgent: (req, ctx) =>
      guard(log, async () => ({
        agent: agentToProto(await agents.revoke(principalOf(ctx), { id: req.id })),
      })),
    drainAgent: (req, ctx) =>
      guard(log, async () => ({
        agent: agentToProto(await agents.drain(principalOf(ctx), { id: req.id })),
      })),
    rotateAgentCredential: (req, ctx) =>
      guard(log, async () => ({
        credential: (await agents.rotate(principalOf(ctx), { id: req.id })).credential,
      })),
  };
}
