/**
 * Connect handlers for AuthService, plus `registerAuthServices` which mounts AuthService and
 * UserService. Handlers only translate: proto in, AuthCore call with the caller's Principal,
 * proto out, errors through the one table in edge/error-table.ts.
 */
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  AuthService,
  CreateApiKeyResponseSchema,
  ListApiKeysResponseSchema,
  LoginResponseSchema,
  LogoutResponseSchema,
  RefreshResponseSchema,
  RevokeApiKeyResponseSchema,
  WhoAmIResponseSchema,
} from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { UserService } from "@streamspace/proto/streamspace/v1/user_service_pb";
import { apiKeyToProto, tokenPairToProto, userToProto } from "../auth/auth-proto.ts";
import { type AuthServiceDeps, defaultLog, guarded } from "./auth-handler-kit.ts";
import { principalKey } from "./principal-context.ts";
import { createUserServiceHandlers } from "./user-service.ts";

export type { AuthServiceDeps } from "./auth-handler-kit.ts";

/** Whole seconds of a Duration, rounding nanos up so "0.5s" is not silently "never expires". */
function durationSeconds(d: { seconds: bigint; nanos: number } | undefined): number {
  if (!d) return 0;
  const s = Number(d.seconds) + (d.nanos > 0 ? 1 : d.nanos < 0 ? -1 : 0);
  return Number.isSafeInteger(s) ? s : Number.MAX_SAFE_INTEGER;
}

/** AuthService implementation over AuthCore. */
export function createAuthServiceHandlers(deps: AuthServiceDeps): ServiceImpl<typeof AuthService> {
  const log = deps.log ?? defaultLog;
  const { auth } = deps;
  const who = (ctx: HandlerContext) => ctx.values.get(principalKey);
  return {
    login: (req) =>
      guarded(log, async () => {
        const { tokens, user } = await auth.login({
          username: req.username,
          password: req.password,
        });
        return create(LoginResponseSchema, {
          tokens: tokenPairToProto(tokens),
          user: userToProto(user),
        });
      }),
    refresh: (req) =>
      guarded(log, async () => {
        const tokens = await auth.refresh({ refreshToken: req.refreshToken });
        return create(RefreshResponseSchema, { tokens: tokenPairToProto(tokens) });
      }),
    logout: (req, ctx) =>
      guarded(log, async () => {
        const bearer = ctx.requestHeader.get("authorization") ?? undefined;
        await auth.logout(who(ctx), { refreshToken: req.refreshToken }, bearer);
        return create(LogoutResponseSchema, {});
      }),
    whoAmI: (_req, ctx) =>
      guarded(log, async () =>
        create(WhoAmIResponseSchema, { user: userToProto(await auth.whoAmI(who(ctx))) }),
      ),
    createApiKey: (req, ctx) =>
      guarded(log, async () => {
        const { key, secret } = await auth.apiKeys.create(who(ctx), {
          name: req.name,
          ttl: durationSeconds(req.ttl),
        });
        return create(CreateApiKeyResponseSchema, { apiKey: apiKeyToProto(key), secret });
      }),
    listApiKeys: (req, ctx) =>
      guarded(log, async () => {
        const keys = await auth.apiKeys.list(who(ctx), { userId: req.userId });
        return create(ListApiKeysResponseSchema, { apiKeys: keys.map(apiKeyToProto) });
      }),
    revokeApiKey: (req, ctx) =>
      guarded(log, async () => {
        await auth.apiKeys.revoke(who(ctx), { id: req.id });
        return create(RevokeApiKeyResponseSchema, {});
      }),
  };
}

/**
 * Mounts AuthService and UserService. Authentication itself is the interceptor's job
 * (auth-interceptor.ts, installed once on the adapter for every service).
 */
export function registerAuthServices(router: ConnectRouter, deps: AuthServiceDeps): void {
  router.service(AuthService, createAuthServiceHandlers(deps));
  router.service(UserService, createUserServiceHandlers(deps));
}
