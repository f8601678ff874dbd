/**
 * Connect handlers for UserService (admins; operators may list. UserAdmin enforces the roles
 * and the last-admin rule, so the tRPC side gets the same behaviour).
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Role as PbRole } from "@streamspace/proto/streamspace/v1/types_pb";
import {
  CreateUserResponseSchema,
  DisableUserResponseSchema,
  EnableUserResponseSchema,
  ListUsersResponseSchema,
  ResetUserPasswordResponseSchema,
  SetUserRoleResponseSchema,
  type UserService,
} from "@streamspace/proto/streamspace/v1/user_service_pb";
import { roleFromProto, userToProto } from "../auth/auth-proto.ts";
import { type AuthServiceDeps, defaultLog, guarded } from "./auth-handler-kit.ts";
import { principalKey } from "./principal-context.ts";

/** UserService implementation over UserAdmin. */
export function createUserServiceHandlers(deps: AuthServiceDeps): ServiceImpl<typeof UserService> {
  const log = deps.log ?? defaultLog;
  const { users } = deps;
  const who = (ctx: HandlerContext) => ctx.values.get(principalKey);
  return {
    createUser: (req, ctx) =>
      guarded(log, async () => {
        const user = await users.createUser(who(ctx), {
          username: req.username,
          password: req.password,
          displayName: req.displayName,
          // Unset role means a plain user: least privilege by default.
          role: req.role === PbRole.UNSPECIFIED ? "user" : roleFromProto(req.role),
        });
        return create(CreateUserResponseSchema, { user: userToProto(user) });
      }),
    listUsers: (req, ctx) =>
      guarded(log, async () => {
        const page = await users.listUsers(who(ctx), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return create(ListUsersResponseSchema, {
          users: page.users.map(userToProto),
          nextPageToken: page.nextPageToken,
        });
      }),
    disableUser: (req, ctx) =>
      guarded(log, async () =>
        create(DisableUserResponseSchema, {
          user: userToProto(await users.disableUser(who(ctx), { id: req.id })),
        }),
      ),
    enableUser: (req, ctx) =>
      guarded(log, async () =>
        create(EnableUserResponseSchema, {
          user: userToProto(await users.enableUser(who(ctx), { id: req.id })),
        }),
      ),
    setUserRole: (req, ctx) =>
      guarded(log, async () =>
        create(SetUserRoleResponseSchema, {
          user: userToProto(
            await users.setUserRole(who(ctx), { id: req.id, role: roleFromProto(req.role) }),
          ),
        }),
      ),
    resetUserPassword: (req, ctx) =>
      guarded(log, async () =>
        create(ResetUserPasswordResponseSchema, {
          user: userToProto(
            await users.resetPassword(who(ctx), { id: req.id, password: req.password }),
          ),
        }),
      ),
  };
}
