/**
 * Who is on the other end of an AgentGateway stream. Two ways in (proto/TOKENS.md): the agent's
 * own credential as a bearer token, or the deployment's bootstrap token on first enrolment.
 * Decisions, each a rule:
 *  - a bearer credential is checked against the stored hash of the agent Hello names (the
 *    credential alone names no agent, so a lookup by secret is never needed);
 *  - a revoked agent is refused whatever it presents;
 *  - the bootstrap token enrols an unknown agent as pending; with auto-approve (single node)
 *    it is approved at once and a credential is issued on this stream;
 *  - the bootstrap token for an already approved agent is refused unless auto-approve is on,
 *    in which case the credential is rotated (the holder of the bootstrap token is trusted
 *    by definition there, and an agent that lost its credential file must get back in).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Hello } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { hashCredential, newAgentCredential, verifyCredential } from "../domain/credentials.ts";
import { bearerToken, sameSecret } from "./agent-credentials.ts";
import type { AgentHelloInfo, AgentRegistry } from "./agent-registry.ts";

/** How the stream authenticated, decided from headers before Hello is read. */
export type StreamCredential = { kind: "credential"; secret: string } | { kind: "bootstrap" };

/** Outcome of admission: whether commands may flow, and a credential to hand over once. */
export interface Admission {
  approved: boolean;
  issuedCredential?: string;
}

/** Settings that decide admission. */
export interface AdmissionConfig {
  bootstrapToken?: string;
  autoApprove: boolean;
}

/** Checks headers before Hello; throws UNAUTHENTICATED with a sentence to act on. */
export function authenticateStream(headers: Headers, cfg: AdmissionConfig): StreamCredential {
  const bearer = bearerToken(headers.get("authorization"));
  if (bearer) return { kind: "credential", secret: bearer };
  const boot = headers.get("x-streamspace-bootstrap-token");
  if (boot !== null) {
    if (!cfg.bootstrapToken || !sameSecret(boot, cfg.bootstrapToken)) {
      throw new ConnectError(
        "The bootstrap token is wrong; copy AGENT_BOOTSTRAP_TOKEN from the control plane.",
        Code.Unauthenticated,
      );
    }
    return { kind: "bootstrap" };
  }
  throw new ConnectError(
    'Send "authorization: Bearer <agent credential>" or "x-streamspace-bootstrap-token".',
    Code.Unauthenticated,
  );
}

/** Applies the enrolment rules above once Hello names the agent. */
export async function admitAgent(
  cred: StreamCredential,
  hello: Hello,
  info: AgentHelloInfo,
  registry: AgentRegistry,
  cfg: AdmissionConfig,
): Promise<Admission> {
  const existing = await registry.identity(hello.agentId);
  if (cred.kind === "credential") {
    if (existing?.enrolment === "revoked") throw revoked(existing.id);
    if (!existing || !verifyCredential(cred.secret, existing.credentialHash)) {
      throw new ConnectError(
        `The credential is not valid for agent "${hello.agentId}" (unknown, rotated or for another agent); enrol again with the bootstrap token.`,
        Code.Unauthenticated,
      );
    }
    return { approved: existing.enrolment === "approved" };
  }
  if (existing?.enrolment === "revoked") throw revoked(existing.id);
  if (existing?.enrolment === "approved" && !cfg.autoApprove) {
    throw new ConnectError(
      `Agent "${existing.id}" is already enrolled; connect with its credential.`,
      Code.Unauthenticated,
    );
  }
  const agent = existing ?? (await registry.enrolPending(hello.agentId, info));
  if (!cfg.autoApprove) return { approved: agent.enrolment === "approved" };
  const credential = newAgentCredential();
  await registry.approve(hello.agentId, hashCredential(credential));
  return { approved: true, issuedCredential: credential };
}

function revoked(id: string): ConnectError {
  return new ConnectError(
    `Agent "${id}" was revoked; an admin must enrol it again.`,
    Code.PermissionDenied,
  );
}
