/**
 * tRPC root: context, error mapping and the procedure builders every router uses. Errors leave
 * through edge/error-table.ts, so a wrong transition is PRECONDITION_FAILED here exactly when it
 * is FAILED_PRECONDITION on the Connect API.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { DomainError } from "../domain/errors.ts";
import { ANONYMOUS, hasRole, type Principal, type Role } from "../domain/principal.ts";
import { auditedCall, outcomeName } from "../edge/audited-calls.ts";
import { ERROR_TABLE, toTrpcShape } from "../edge/error-table.ts";
import type { Peer } from "../edge/peer.ts";
import { RateLimitedError } from "../edge/rate-limiter.ts";
import type { TrpcDeps } from "./deps.ts";

/** Per-request (HTTP) or per-connection (WebSocket) state. */
export interface TrpcContext {
  deps: TrpcDeps;
  principal: Principal;
  /** The raw credential, kept so long-lived subscriptions can re-check it (revocation, expiry). */
  authorization: string | undefined;
  /** Why authentication failed, surfaced only when a procedure needs a user. */
  authError: unknown;
  /** Where the call came from (audit log, abuse limits). */
  peer: Peer;
}

/**
 * Builds the context from an `authorization` value. A bad credential does not fail the request
 * outright: login and refresh must still work, so the failure is kept and thrown by `authed`.
 */
export async function createContextFromAuthorization(
  deps: TrpcDeps,
  authorization: string | undefined,
  peer: Peer = { source: "", requestId: "" },
): Promise<TrpcContext> {
  const base = { deps, authorization, peer };
  if (!authorization) return { ...base, principal: ANONYMOUS, authError: undefined };
  try {
    const principal = await deps.auth.authenticate(authorization);
    return { ...base, principal, authError: undefined };
  } catch (err) {
    return { ...base, principal: ANONYMOUS, authError: err };
  }
}

/** Converts any thrown value to a TRPCError through the shared table; unknown causes are logged. */
export function toTrpcError(err: unknown, deps: TrpcDeps | undefined): TRPCError {
  if (err instanceof TRPCError) {
    // tRPC wraps whatever a resolver threw as INTERNAL_SERVER_ERROR, and whatever an input
    // parser threw as BAD_REQUEST, with the original as cause: a domain error goes through
    // the table so its code and sentence match the Connect road.
    if (err.cause instanceof DomainError) return toTrpcError(err.cause, deps);
    if (err.code !== "INTERNAL_SERVER_ERROR" || err.cause === undefined) return err;
    return toTrpcError(err.cause, deps);
  }
  const shape = toTrpcShape(err);
  if (!(err instanceof DomainError)) {
    deps?.log?.("trpc: unexpected error", { err: String(err), stack: (err as Error)?.stack });
  }
  return new TRPCError({ code: shape.code, message: shape.message, cause: err });
}

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    // Internal causes never reach the browser; the message is already the public one.
    const { stack: _stack, ...data } = shape.data;
    const retryAfterMs = error.cause instanceof RateLimitedError ? error.cause.retryAfterMs : null;
    return {
      ...shape,
      data: { ...data, domainCode: domainCodeOf(error.cause), retryAfterMs },
    };
  },
});

function domainCodeOf(cause: unknown): string | null {
  return cause instanceof DomainError ? cause.code : null;
}

const mapErrors = t.middleware(async ({ ctx, next }) => {
  const result = await next();
  if (!result.ok) {
    const mapped = toTrpcError(result.error, ctx.deps);
    if (mapped !== result.error) return { ...result, error: mapped };
  }
  return result;
});

export const router = t.router;

/**
 * One audit entry per state-changing call (edge/audited-calls.ts), written with the outcome the
 * caller is about to receive: outermost, so it sees the mapped error and refused credentials.
 */
const auditCalls = t.middleware(async ({ ctx, path, type, getRawInput, next }) => {
  const call = type === "mutation" ? auditedCall(path) : undefined;
  if (!call || !ctx.deps.audit) return next();
  const result = await next();
  const input = (await getRawInput().catch(() => undefined)) as Record<string, unknown>;
  const output = result.ok ? (result.data as Record<string, unknown>) : undefined;
  const p = ctx.principal;
  const signedIn = output ? (call.actor?.(output) ?? "") : "";
  const failure = result.ok ? undefined : toTrpcError(result.error, ctx.deps);
  await ctx.deps.audit.record({
    actorId: p.kind === "user" ? p.userId : signedIn,
    action: call.action,
    targetKind: call.targetKind,
    targetId: call.target(input, output),
    detail: { ...call.detail?.(input), ...(p.kind === "user" ? { via: p.via } : {}) },
    source: ctx.peer.source,
    transport: "trpc",
    outcome: failure ? outcomeOfTrpc(failure) : "ok",
    message: failure?.message ?? "",
    requestId: ctx.peer.requestId,
  });
  return result;
});

/** The domain code behind a tRPC refusal, in the log's vocabulary (same as Connect's). */
function outcomeOfTrpc(err: TRPCError): string {
  if (err.cause instanceof DomainError) return err.cause.code;
  const row = Object.entries(ERROR_TABLE).find(([, v]) => v.trpc === err.code);
  return row ? row[0] : outcomeName(err.code);
}

/** Anyone may call: login, refresh. */
export const publicProcedure = t.procedure.use(auditCalls).use(mapErrors);

/** Needs a signed-in user; a bad or expired credential says why, so the client can refresh. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== "user") {
    if (ctx.authError) throw toTrpcError(ctx.authError, ctx.deps);
    throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first, then try again." });
  }
  // The caller's request budget (edge/rate-limiter.ts); refused as TOO_MANY_REQUESTS with the wait.
  ctx.deps.limiter?.take(ctx.principal);
  return next({ ctx: { ...ctx, principal: ctx.principal } });
});

/**
 * Gate by role at the edge as well as in the domain, so an admin-only screen fails fast with
 * FORBIDDEN before any service is touched.
 */
export function roleProcedure(role: Role) {
  return authedProcedure.use(({ ctx, next }) => {
    if (!hasRole(ctx.principal, role)) {
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `This needs the ${role} role; ask an administrator for access.`,
      });
    }
    return next();
  });
}
