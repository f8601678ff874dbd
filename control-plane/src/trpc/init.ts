/**
 * tRPC root: context, error mapping and the procedure builders every router uses. Errors leave
 * through edge/error-table.ts, so a wrong transition is PRECONDITION_FAILED here exactly when it
 * is FAILED_PRECONDITION on the Connect API.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { DomainError } from "../domain/errors.ts";
import { ANONYMOUS, hasRole, type Principal, type Role } from "../domain/principal.ts";
import { toTrpcShape } from "../edge/error-table.ts";
import type { TrpcDeps } from "./deps.ts";

/** Per-request (HTTP) or per-connection (WebSocket) state. */
export interface TrpcContext {
  deps: TrpcDeps;
  principal: Principal;
  /** The raw credential, kept so long-lived subscriptions can re-check it (revocation, expiry). */
  authorization: string | undefined;
  /** Why authentication failed, surfaced only when a procedure needs a user. */
  authError: unknown;
}

/**
 * Builds the context from an `authorization` value. A bad credential does not fail the request
 * outright: login and refresh must still work, so the failure is kept and thrown by `authed`.
 */
export async function createContextFromAuthorization(
  deps: TrpcDeps,
  authorization: string | undefined,
): Promise<TrpcContext> {
  if (!authorization) return { deps, principal: ANONYMOUS, authorization, authError: undefined };
  try {
    const principal = await deps.auth.authenticate(authorization);
    return { deps, principal, authorization, authError: undefined };
  } catch (err) {
    return { deps, principal: ANONYMOUS, authorization, authError: err };
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
    return { ...shape, data: { ...data, domainCode: domainCodeOf(error.cause) } };
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

/** Anyone may call: login, refresh. */
export const publicProcedure = t.procedure.use(mapErrors);

/** Needs a signed-in user; a bad or expired credential says why, so the client can refresh. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== "user") {
    if (ctx.authError) throw toTrpcError(ctx.authError, ctx.deps);
    throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first, then try again." });
  }
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
