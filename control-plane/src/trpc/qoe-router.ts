/**
 * Live quality of experience for the browser: one session's figures (its owner's viewer
 * overlay and idle warning) and the fleet view (operators). Both read the domain's
 * SessionActivity, which checks who asks; this edge only turns the result into JSON.
 */
import { TRPCError } from "@trpc/server";
import type { SessionQoeView } from "../domain/session-activity.ts";
import { schemas } from "../domain/validation.ts";
import type { TrpcDeps } from "./deps.ts";
import { domainInput } from "./domain-input.ts";
import { authedProcedure, roleProcedure, router } from "./init.ts";

function qoeOf(deps: TrpcDeps) {
  if (!deps.qoe)
    throw new TRPCError({
      code: "NOT_IMPLEMENTED",
      message: "This pod does not measure session quality.",
    });
  return deps.qoe;
}

/** Numbers as the browser reads them (wall-clock ms for times). */
function qoeView(v: SessionQoeView) {
  const c = v.current;
  return {
    sessionId: v.sessionId,
    viewers: c?.viewers ?? 0,
    rttMs: c?.rttMs ?? 0,
    framesPerSecond: c?.framesPerSecond ?? 0,
    bytesToViewerPerSecond: c?.bytesToViewerPerSecond ?? 0,
    bytesFromViewerPerSecond: c?.bytesFromViewerPerSecond ?? 0,
    timeToFirstFrameMs: c?.timeToFirstFrameMs ?? 0,
    lastInputMs: c?.lastInputMs ?? 0,
    reconnects: v.reconnects,
    history: v.history,
    idle: v.idle ?? null,
  };
}

export const qoeRouter = router({
  /** One session (visible to the caller), with its idle deadline while it runs. */
  session: authedProcedure.input(domainInput(schemas.sessionId)).query(async ({ ctx, input }) => ({
    ...qoeView(await qoeOf(ctx.deps).forSession(ctx.principal, input)),
    serverTimeMs: Date.now(),
  })),
  /** Every measured session, for the console's fleet view. */
  fleet: roleProcedure("operator").query(({ ctx }) => ({
    sessions: qoeOf(ctx.deps).fleet(ctx.principal).map(qoeView),
    serverTimeMs: Date.now(),
  })),
});
