/**
 * The Connect interceptor that turns `authorization: Bearer <jwt|ssk_…>` into a Principal for
 * every handler (under principalKey). It is the one gate of the public API: a method not
 * listed as anonymous here can never be reached without a live, enabled user.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createLogger } from "@streamspace/common/log";
import { isCredentialError, SIGN_IN_FIRST } from "../auth/auth-core.ts";
import { ANONYMOUS, type Principal } from "../domain/principal.ts";
import { toConnectError } from "../edge/error-table.ts";
import { principalKey } from "./principal-context.ts";

const defaultLog = createLogger({ base: { component: "auth" } });

/** Methods (`package.Service/Method`) anyone may call: signing in cannot require being signed in. */
export const ANONYMOUS_METHODS: ReadonlySet<string> = new Set([
  "streamspace.v1.AuthService/Login",
  "streamspace.v1.AuthService/Refresh",
]);

/** Whole services open to anonymous callers, so probes, grpcurl and `buf curl` work bare. */
export const ANONYMOUS_SERVICES: ReadonlySet<string> = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/**
 * Services that authenticate their callers themselves with a different credential (agents
 * present agent credentials, not user tokens); this interceptor leaves them alone.
 */
export const SELF_AUTHENTICATED_SERVICES: ReadonlySet<string> = new Set([
  "streamspace.agent.v1.AgentGateway",
]);

/** Anything that resolves a header to a Principal: AuthCore in production, fakes in tests. */
export interface Authenticator {
  authenticate(header: string | null | undefined): Promise<Principal>;
}

/** True when `service/method` may be called without credentials. */
export function allowsAnonymous(service: string, method: string): boolean {
  return ANONYMOUS_SERVICES.has(service) || ANONYMOUS_METHODS.has(`${service}/${method}`);
}

/**
 * Builds the interceptor. On anonymous-friendly methods a bad credential is ignored (a browser
 * holding an expired token must still be able to sign in); everywhere else it is refused with
 * the precise reason (expired, revoked, tampered, disabled).
 */
export function createAuthInterceptor(
  auth: Authenticator,
  log: (msg: string, err: unknown) => void = (msg, err) => defaultLog.error(msg, { err }),
): Interceptor {
  return (next) => async (req) => {
    const service = req.service.typeName;
    if (SELF_AUTHENTICATED_SERVICES.has(service)) return next(req);
    const open = allowsAnonymous(service, req.method.name);
    let principal: Principal;
    try {
      principal = await auth.authenticate(req.header.get("authorization"));
    } catch (err) {
      if (!(open && isCredentialError(err))) throw toConnectError(err, log);
      principal = ANONYMOUS;
    }
    if (principal.kind === "anonymous" && !open) {
      throw new ConnectError(SIGN_IN_FIRST, Code.Unauthenticated);
    }
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}
