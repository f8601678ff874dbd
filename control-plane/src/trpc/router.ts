/**
 * The browser's API. Each procedure is a thin edge over a domain port (deps.ts): parse input,
 * call the service with the caller's Principal, convert the proto result to a JSON view. The
 * web app imports only `type AppRouter` from here, never a value.
 */
import { z } from "zod";
import type { TrpcDeps } from "./deps.ts";
import { authedProcedure, publicProcedure, roleProcedure, router } from "./init.ts";
import { guarded, pollSnapshots } from "./streams.ts";
import {
  AGENT_STATE_NAMES,
  agentView,
  SESSION_STATE_NAMES,
  sessionView,
  templateView,
  tokensView,
  userView,
} from "./views.ts";

// Shapes only: lengths, formats and state rules are checked once, in the domain services.
const id = z.object({ id: z.string().min(1, "An id is required.").max(200) });
const paging = {
  pageSize: z.number().int().min(0).max(500).optional(),
  pageToken: z.string().max(2000).optional(),
};
const sessionStateName = z.enum(SESSION_STATE_NAMES, "Unknown session state.");
const agentStateName = z.enum(AGENT_STATE_NAMES, "Unknown agent state.");

const authRouter = router({
  login: publicProcedure
    .input(z.object({ username: z.string().min(1).max(200), password: z.string().max(1000) }))
    .mutation(async ({ ctx, input }) => {
      const { tokens, user } = await ctx.deps.auth.login(input);
      return { tokens: tokensView(tokens), user: userView(user) };
    }),
  refresh: publicProcedure
    .input(z.object({ refreshToken: z.string().min(1).max(4000) }))
    .mutation(async ({ ctx, input }) => tokensView(await ctx.deps.auth.refresh(input))),
  logout: authedProcedure
    .input(z.object({ refreshToken: z.string().max(4000) }))
    .mutation(async ({ ctx, input }) => {
      await ctx.deps.auth.logout(ctx.principal, input, ctx.authorization);
      return { ok: true as const };
    }),
  whoami: authedProcedure.query(async ({ ctx }) =>
    userView(await ctx.deps.auth.whoAmI(ctx.principal)),
  ),
});

const sessionsRouter = router({
  list: authedProcedure
    .input(
      z
        .object({
          ...paging,
          states: z.array(sessionStateName).max(20).optional(),
          mine: z.boolean().optional(),
        })
        .optional(),
    )
    .query(async ({ ctx, input }) => {
      const page = await ctx.deps.sessions.list(ctx.principal, {
        pageSize: input?.pageSize,
        pageToken: input?.pageToken,
        states: input?.states,
        // Operators see everyone's by default; "mine" narrows to their own.
        ownerId: input?.mine ? ctx.principal.userId : undefined,
      });
      return { sessions: page.sessions.map(sessionView), nextPageToken: page.nextPageToken };
    }),
  get: authedProcedure
    .input(id)
    .query(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.get(ctx.principal, input)),
    ),
  create: authedProcedure
    .input(
      z.object({
        template: z.string().min(1, "Pick a template.").max(200),
        displayName: z.string().max(200).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.create(ctx.principal, input)),
    ),
  stop: authedProcedure
    .input(id)
    .mutation(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.stop(ctx.principal, input)),
    ),
  hibernate: authedProcedure
    .input(id)
    .mutation(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.hibernate(ctx.principal, input)),
    ),
  wake: authedProcedure
    .input(id)
    .mutation(async ({ ctx, input }) =>
      sessionView(await ctx.deps.sessions.wake(ctx.principal, input)),
    ),
  delete: authedProcedure.input(id).mutation(async ({ ctx, input }) => {
    await ctx.deps.sessions.delete(ctx.principal, input);
    return { ok: true as const };
  }),
  /** A fresh single-use token per (re)connect; the viewer never reuses one. */
  viewerToken: authedProcedure
    .input(z.object({ sessionId: z.string().min(1).max(200) }))
    .mutation(async ({ ctx, input }) => {
      const t = await ctx.deps.sessions.createViewerToken(ctx.principal, input);
      return { token: t.token, expireTime: t.expireTime.toISOString(), viewerPath: t.viewerPath };
    }),
  /** Live changes to the caller's visible sessions (or one session), over the WebSocket link. */
  watch: authedProcedure
    .input(z.object({ sessionId: z.string().min(1).max(200).optional() }).optional())
    .subscription(async function* ({ ctx, input, signal }) {
      const changes = guarded(ctx, signal, (s) =>
        ctx.deps.sessions.watch(ctx.principal, { sessionId: input?.sessionId }, s),
      );
      for await (const change of changes) {
        yield { session: sessionView(change.session), deleted: change.deleted };
      }
    }),
});

const templatesRouter = router({
  list: authedProcedure.input(z.object(paging).optional()).query(async ({ ctx, input }) => {
    const page = await ctx.deps.templates.list(ctx.principal, input ?? {});
    return { templates: page.templates.map(templateView), nextPageToken: page.nextPageToken };
  }),
});

const operatorProcedure = roleProcedure("operator");
const adminProcedure = roleProcedure("admin");

async function listAgents(deps: TrpcDeps, principal: Parameters<TrpcDeps["agents"]["list"]>[0]) {
  const page = await deps.agents.list(principal, { pageSize: 500 });
  return page.agents.map(agentView);
}

const agentsRouter = router({
  list: operatorProcedure
    .input(z.object({ ...paging, states: z.array(agentStateName).max(10).optional() }).optional())
    .query(async ({ ctx, input }) => {
      const page = await ctx.deps.agents.list(ctx.principal, {
        pageSize: input?.pageSize,
        pageToken: input?.pageToken,
        states: input?.states,
      });
      return { agents: page.agents.map(agentView), nextPageToken: page.nextPageToken };
    }),
  approve: adminProcedure.input(id).mutation(async ({ ctx, input }) => {
    const r = await ctx.deps.agents.approve(ctx.principal, input);
    return { agent: agentView(r.agent), credential: r.credential };
  }),
  revoke: adminProcedure
    .input(id)
    .mutation(async ({ ctx, input }) =>
      agentView(await ctx.deps.agents.revoke(ctx.principal, input)),
    ),
  drain: adminProcedure
    .input(id)
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

/** The whole browser API; `AppRouter` is the only thing web/ imports (as a type). */
export const appRouter = router({
  auth: authRouter,
  sessions: sessionsRouter,
  templates: templatesRouter,
  agents: agentsRouter,
});

export type AppRouter = typeof appRouter;
