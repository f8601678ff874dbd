/**
 * Connect handler for streamspace.v1.AuditService, over the domain audit service.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AuditEventSchema,
  type AuditService,
} from "@streamspace/proto/streamspace/v1/audit_service_pb";
import type { AuditService as Domain } from "../domain/audit-service.ts";
import { type ErrorLog, guard, principalOf } from "./handler-kit.ts";

/** Builds the AuditService implementation. */
export function auditServiceHandlers(
  audit: Domain,
  log: ErrorLog,
): ServiceImpl<typeof AuditService> {
  return {
    listAuditEvents: (req, ctx) =>
      guard(log, async () => {
        const page = await audit.list(principalOf(ctx), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          actorId: req.actorId,
          action: req.action,
          targetId: req.targetId,
        });
        return {
          events: page.events.map((e) =>
            create(AuditEventSchema, { ...e, time: timestampFromDate(e.time) }),
          ),
          nextPageToken: page.nextPageToken,
        };
      }),
  };
}
