/**
 * The browser's API. Each procedure is a thin edge over a domain port (deps.ts): parse input,
 * call the service with the caller's Principal, convert the proto result to a JSON view. The
 * web app imports only `type AppRouter` from here, never a value.
 */
import { TRPCError } from "@trpc/server";
import { loginInput, logoutInput, refreshInput } from "../auth/auth-validation.ts";
import { schemas, templateUpdate } from "../domain/validation.ts";
import type { TrpcDeps } from "./deps.ts";
import { domainInput, optionalDomainInput } from "./domain-input.ts";
import { authedProcedure, publicProcedure, roleProcedure, router } from "./init.ts";
import { qoeRouter } from "./qoe-router.ts";
import { guarded, pollSnapshots } from "./streams.ts";
import { apiKeysRouter, usersRouter } from "./users-router.ts";
import {
  agentView,
  auditEventView,
  sessionView,
  templateView,
  tokensView,
  userView,
} from "./views.ts";

// Every input is the domain's schema for the operation (domain-input.ts): the Connect handler
// for the same operation refuses the same requests with the same words.
const sessionId = domainInput(schemas.sessionId);
const agentId = domainInput(schemas.agentId);

const authRouter = router({
  login: publicProcedure.input(domainInput(loginInput)).mutation(async ({ ctx, input }) => {
    const { tokens, user } = await ctx.deps.auth.login(input);
    return { tokens: tokensView(tokens), user: userView(user) };
  }),
  refresh: publicProcedure
    .input(domainInput(refreshInput))
    .mutation(async ({ ctx, input }) => tokensView(await ctx.deps.auth.refresh(input))),
  logout: authedProcedure.input(domainInput(logoutInput)).mutation(async ({ ctx, input }) => {
    await ctx.deps.auth.logout(ctx.principal, input, ctx.authorization);
    return { ok: true as const };
  }),
  whoami: authedProcedure.query(async ({ ctx }) =>
    userView(await ctx.deps.auth.whoAmI(ctx.principal)),
  ),
});

const sessionsRouter = router({
  list: authedProcedure
    .input(optionalDomainInput(schemas.listSessions))
    .query(async ({ ctx, input }) => {
      // Operators see everyone's by default; "mine" narrows to their own.
      const page = await ctx.deps.sessions.list(ctx.principal, input);
      return { sessions: page.sessions.map(sessionView), nextPageToken: page.nextPageToken };
    }),
  get: authedProcedure
    .input(sessionId)
    .query(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.get(ctx.principal, input)),
    ),
  create: authedProcedure
    .input(domainInput(schemas.createSession))
    .mutation(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.create(ctx.principal, input)),
    ),
  stop: authedProcedure
    .input(sessionId)
    .mutation(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.stop(ctx.principal, input)),
    ),
  hibernate: authedProcedure
    .input(sessionId)
    .mutation(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.hibernate(ctx.principal, input)),
    ),
  wake: authedProcedure
    .input(sessionId)
    .mutation(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.wake(ctx.principal, input)),
    ),
  delete: authedProcedure.input(sessionId).mutation(async ({ ctx, input }) => {
    await ctx.deps.sessions.delete(ctx.principal, input);
    return { ok: true as const };
  }),
  /** A fresh single-use token per (re)connect; the viewer never reuses one. */
  viewerToken: authedProcedure
    .input(domainInput(schemas.viewerToken))
    .mutation(async ({ ctx, input }) => {
      const t = await ctx.deps.sessions.createViewerToken(ctx.principal, input);
      return { token: t.token, expireTime: t.expireTime.toISOString(), viewerPath: t.viewerPath };
    }),
  /** Live changes to the caller's visible sessions (or one session), over the WebSocket link. */
  watch: authedProcedure
    .input(optionalDomainInput(schemas.watchSessions))
    .subscription(async function* ({ ctx, input, signal }) {
      const changes = guarded(ctx, signal, (s) => ctx.deps.sessions.watch(ctx.principal, input, s));
      for await (const change of changes) {
        yield { session: sessionView(change.session), deleted: change.deleted };
      }
    }),
});

const operatorProcedure = roleProcedure("operator");
const adminProcedure = roleProcedure("admin");

const templatesRouter = router({
  list: authedProcedure
    .input(optionalDomainInput(schemas.listTemplates))
    .query(async ({ ctx, input }) => {
      const page = await ctx.deps.templates.list(ctx.principal, input);
      return { templates: page.templates.map(templateView), nextPageToken: page.nextPageToken };
    }),
  create: operatorProcedure
    .input(domainInput(schemas.template))
    .mutation(async ({ ctx, input }) =>
      templateView(await ctx.deps.templates.create(ctx.principal, input)),
    ),
  update: operatorProcedure
    .input(domainInput(templateUpdate))
    .mutation(async ({ ctx, input: { id, ...template } }) =>
      templateView(await ctx.deps.templates.update(ctx.principal, id, template)),
    ),
  /** Retires a template: nobody can launch it; sessions launched from it keep running. */
  delete: operatorProcedure
    .input(domainInput(schemas.templateRef))
    .mutation(async ({ ctx, input }) => {
      await ctx.deps.templates.delete(ctx.principal, input);
      return { ok: true as const };
    }),
});

async function listAgents(deps: TrpcDeps, principal: Parameters<TrpcDeps["agents"]["list"]>[0]) {
  const page = await deps.agents.list(principal, { pageSize: 500 });
  return page.agents.map(agentView);
}

const agentsRouter = router({
  list: operatorProcedure
    .input(optionalDomainInput(schemas.listAgents))
    .query(async ({ ctx, input }) => {
      const page = await ctx.deps.agents.list(ctx.principal, input);
      return { agents: page.agents.map(agentView), nextPageToken: page.nextPageToken };
    }),
  approve: adminProcedure.input(agentId).mutation(async ({ ctx, input }) => {
    const r = await ctx.deps.agents.approve(ctx.principal, input);
    return { agent: agentView(r.agent), credential: r.credential };
  }),
  revoke: adminProcedure
    .input(agentId)
    .mutation(async ({ ctx, input }) =>
      agentView(await ctx.deps.agents.revoke(ctx.principal, input)),
    ),
  drain: adminProcedure
    .input(agentId)
    .mutation(async ({ ctx, input }) =>
      agentView(await ctx.deps.agents.drain(ctx.principal, input)),
    ),
  /** Snapshots of the agent list whenever it changes (push feed when present, else polling). */
  watch: operatorProcedure.subscription(async function* ({ ctx, signal }) {
    const { deps, principal } = ctx;
    const snapshots = guarded(ctx, signal, (s) =>
      pollSnapshots(
        s,
        deps.agentPollMs ?? 2_000,
        () => listAgents(deps, principal),
        deps.agents.watch?.(principal, s),
      ),
    );
    for await (const agents of snapshots) yield { agents };
  }),
});

const auditRouter = router({
  /** The audit log, newest first (admins). */
  list: adminProcedure
    .input(optionalDomainInput(schemas.listAuditEvents))
    .query(async ({ ctx, input }) => {
      if (!ctx.deps.audit) {
        throw new TRPCError({ code: "NOT_IMPLEMENTED", message: "This pod keeps no audit log." });
      }
      const page = await ctx.deps.audit.list(ctx.principal, input);
      return { events: page.events.map(auditEventView), nextPageToken: page.nextPageToken };
    }),
});

/** The whole browser API; `AppRouter` is the only thing web/ imports (as a type). */
export const appRouter = router({
  auth: authRouter,
  sessions: sessionsRouter,
  templates: templatesRouter,
  agents: agentsRouter,
  audit: auditRouter,
  users: usersRouter,
  apiKeys: apiKeysRouter,
  qoe: qoeRouter,
});

export type AppRouter = typeof appRouter;
