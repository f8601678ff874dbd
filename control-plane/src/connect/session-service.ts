/**
 * Connect handlers for streamspace.v1.SessionService: a thin edge that passes the proto fields
 * to the domain service with the caller's Principal and maps records back to protos. Rules
 * (ownership, validation, transitions) live in domain/, shared with tRPC.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  CreateViewerTokenResponseSchema,
  type SessionService,
  WatchSessionsResponseSchema,
} from "@streamspace/proto/streamspace/v1/session_service_pb";
import { sessionStateFromProto, sessionToProto } from "../domain/proto-mapping.ts";
import type { SessionService as Domain } from "../domain/session-service.ts";
import { type ErrorLog, guard, guardStream, principalOf } from "./handler-kit.ts";

/** Builds the SessionService implementation over the domain service. */
export function sessionServiceHandlers(
  sessions: Domain,
  log: ErrorLog,
): ServiceImpl<typeof SessionService> {
  return {
    createSession: (req, ctx) =>
      guard(log, async () => ({
        session: sessionToProto(
          await sessions.create(principalOf(ctx), {
            template: req.template,
            displayName: req.displayName,
            region: req.region,
            labels: req.labels,
          }),
        ),
      })),
    getSession: (req, ctx) =>
      guard(log, async () => ({
        session: sessionToProto(await sessions.get(principalOf(ctx), { id: req.id })),
      })),
    listSessions: (req, ctx) =>
      guard(log, async () => {
        // An unknown enum number must be refused, not read as "no filter".
        const states = req.states.map((s) => sessionStateFromProto(s) ?? `#${s}`);
        const page = await sessions.list(principalOf(ctx), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          states,
          ownerId: req.ownerId,
          agentId: req.agentId,
          templateId: req.templateId,
        });
        return { sessions: page.sessions.map(sessionToProto), nextPageToken: page.nextPageToken };
      }),
    stopSession: (req, ctx) =>
      guard(log, async () => ({
        session: sessionToProto(await sessions.stop(principalOf(ctx), { id: req.id })),
      })),
    hibernateSession: (req, ctx) =>
      guard(log, async () => ({
        session: sessionToProto(await sessions.hibernate(principalOf(ctx), { id: req.id })),
      })),
    wakeSession: (req, ctx) =>
      guard(log, async () => ({
        session: sessionToProto(await sessions.wake(principalOf(ctx), { id: req.id })),
      })),
    deleteSession: (req, ctx) =>
      guard(log, async () => {
        await sessions.delete(principalOf(ctx), { id: req.id });
        return {};
      }),
    createViewerToken: (req, ctx) =>
      guard(log, async () => {
        const t = await sessions.createViewerToken(principalOf(ctx), { sessionId: req.sessionId });
        return create(CreateViewerTokenResponseSchema, {
          token: t.token,
          expireTime: timestampFromDate(t.expireTime),
          viewerPath: `${t.viewerPath}?token=${encodeURIComponent(t.token)}`,
        });
      }),
    watchSessions: (req, ctx) =>
      guardStream(log, async function* () {
        const changes = sessions.watch(principalOf(ctx), { sessionId: req.sessionId }, ctx.signal);
        for await (const c of changes) {
          yield create(WatchSessionsResponseSchema, {
            session: sessionToProto(c.session),
            deleted: c.deleted,
          });
        }
      }),
  };
}
