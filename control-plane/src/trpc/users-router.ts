/**
 * The console's people procedures: users (admins manage; operators list, to tell whose
 * sessions they look at) and API keys (everyone their own; admins anyone's). Each one calls
 * the service the Connect UserService and AuthService call, so the roles, the last-admin rule
 * and "a key cannot mint keys" hold on both roads; the edge gate only fails fast.
 */
import {
  createApiKeyInput,
  createUserInput,
  idInput,
  listApiKeysInput,
  listUsersInput,
  resetPasswordInput,
  setRoleInput,
} from "../auth/auth-validation.ts";
import { domainInput, optionalDomainInput } from "./domain-input.ts";
import { authedProcedure, roleProcedure, router } from "./init.ts";
import { apiKeyView, managedUserView } from "./views.ts";

const operatorProcedure = roleProcedure("operator");
const adminProcedure = roleProcedure("admin");

/** users.*: UserService over tRPC. */
export const usersRouter = router({
  list: operatorProcedure.input(domainInput(listUsersInput)).query(async ({ ctx, input }) => {
    const page = await ctx.deps.users.listUsers(ctx.principal, input);
    return { users: page.users.map(managedUserView), nextPageToken: page.nextPageToken };
  }),
  create: adminProcedure
    .input(domainInput(createUserInput))
    .mutation(async ({ ctx, input }) =>
      managedUserView(await ctx.deps.users.createUser(ctx.principal, input)),
    ),
  disable: adminProcedure
    .input(domainInput(idInput))
    .mutation(async ({ ctx, input }) =>
      managedUserView(await ctx.deps.users.disableUser(ctx.principal, input)),
    ),
  enable: adminProcedure
    .input(domainInput(idInput))
    .mutation(async ({ ctx, input }) =>
      managedUserView(await ctx.deps.users.enableUser(ctx.principal, input)),
    ),
  setRole: adminProcedure
    .input(domainInput(setRoleInput))
    .mutation(async ({ ctx, input }) =>
      managedUserView(await ctx.deps.users.setUserRole(ctx.principal, input)),
    ),
  resetPassword: adminProcedure
    .input(domainInput(resetPasswordInput))
    .mutation(async ({ ctx, input }) =>
      managedUserView(await ctx.deps.users.resetPassword(ctx.principal, input)),
    ),
});

/** apiKeys.*: the API-key part of AuthService over tRPC. */
export const apiKeysRouter = router({
  list: authedProcedure
    .input(optionalDomainInput(listApiKeysInput))
    .query(async ({ ctx, input }) => ({
      apiKeys: (await ctx.deps.auth.apiKeys.list(ctx.principal, input)).map(apiKeyView),
    })),
  /** The secret is in this answer only; it is never stored or shown again. */
  create: authedProcedure.input(domainInput(createApiKeyInput)).mutation(async ({ ctx, input }) => {
    const { key, secret } = await ctx.deps.auth.apiKeys.create(ctx.principal, input);
    return { apiKey: apiKeyView(key), secret };
  }),
  revoke: authedProcedure.input(domainInput(idInput)).mutation(async ({ ctx, input }) => {
    await ctx.deps.auth.apiKeys.revoke(ctx.principal, input);
    return { ok: true as const };
  }),
});
