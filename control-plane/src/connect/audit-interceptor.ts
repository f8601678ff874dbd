/**
 * Writes one audit entry per state-changing Connect call (edge/audited-calls.ts says which),
 * after the call has its outcome and before the caller hears it. It sits outside the auth
 * interceptor, so a refused credential is recorded too (as an anonymous caller), and reads
 * the principal the auth interceptor left on the shared context values afterwards.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { AuditRecorder } from "../domain/audit-service.ts";
import type { Principal } from "../domain/principal.ts";
import { auditedCall, outcomeName } from "../edge/audited-calls.ts";
import { peerKey } from "./peer-context.ts";
import { principalKey } from "./principal-context.ts";

/** The protocol of a call, from its content type. */
function transportOf(contentType: string | null): string {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

type Fields = Record<string, unknown>;

/** Builds the interceptor over the audit service. */
export function createAuditInterceptor(audit: AuditRecorder): Interceptor {
  return (next) => async (req) => {
    const call = auditedCall(`${req.service.typeName}/${req.method.name}`);
    if (!call || req.stream) return next(req);
    const input = req.message as unknown as Fields;
    let output: Fields | undefined;
    let failure: ConnectError | undefined;
    try {
      const res = await next(req);
      if (!res.stream) output = res.message as unknown as Fields;
      return res;
    } catch (err) {
      failure = ConnectError.from(err);
      throw err;
    } finally {
      const principal: Principal = req.contextValues.get(principalKey);
      const peer = req.contextValues.get(peerKey);
      // A successful login or refresh is made by the user it signed in.
      const signedIn = output ? (call.actor?.(output) ?? "") : "";
      await audit.record({
        actorId: principal.kind === "user" ? principal.userId : signedIn,
        action: call.action,
        targetKind: call.targetKind,
        targetId: call.target(input, output),
        detail: {
          ...call.detail?.(input),
          ...(principal.kind === "user" ? { via: principal.via } : {}),
        },
        source: peer.source,
        transport: transportOf(req.header.get("content-type")),
        outcome: failure ? outcomeName(Code[failure.code]) : "ok",
        message: failure?.rawMessage ?? "",
        requestId: peer.requestId,
      });
    }
  };
}
