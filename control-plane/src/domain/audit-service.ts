/**
 * The audit log of the public API: one entry per state-changing call, who made it, from where,
 * what it asked and how it ended, written by the transports' edges (a Connect interceptor and
 * a tRPC middleware, both driven by edge/audited-calls.ts) once the call has its answer and
 * before the caller hears it. So every answered call is in the log, failures included (a
 * refused login, a forbidden revoke), which a row written inside the change's own transaction
 * could not record. If the row cannot be written the call still answers (its change, if any,
 * has committed) and the whole entry goes to the error log, so nothing is silently lost.
 *
 * Admins read it newest first, filtered by actor, action or target.
 */
import { requireRole } from "./access.ts";
import { decodeKeyToken, encodeToken } from "./cursor.ts";
import { invalidArgument } from "./errors.ts";
import type { AuditEntry, AuditEvent, Store } from "./ports.ts";
import type { Principal } from "./principal.ts";
import { DEFAULT_PAGE_SIZE, parse, schemas } from "./validation.ts";

/** What the edges need: record one call. */
export interface AuditRecorder {
  record(e: AuditEntry): Promise<void>;
}

export interface AuditServiceDeps {
  store: Pick<Store, "audit">;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Longest text kept per field: a hostile request must not be able to bloat the log. */
const MAX_TEXT = 512;
const MAX_DETAIL = 16;

/** Clipped to `max`, with NUL (which Postgres text cannot hold) shown as U+FFFD. */
const clip = (s: string | undefined, max = MAX_TEXT) => {
  const t = (s ?? "").replaceAll("\u0000", "\ufffd");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

function bounded(e: AuditEntry): AuditEntry {
  const detail = Object.fromEntries(
    Object.entries(e.detail ?? {})
      .slice(0, MAX_DETAIL)
      .map(([k, v]) => [clip(k, 64), clip(v, 256)]),
  );
  return {
    actorId: clip(e.actorId, 128),
    action: clip(e.action, 64),
    targetKind: clip(e.targetKind, 32),
    targetId: clip(e.targetId, 256),
    detail,
    source: clip(e.source, 256),
    transport: clip(e.transport, 16),
    outcome: clip(e.outcome || "ok", 32),
    message: clip(e.message, 1024),
    requestId: clip(e.requestId, 128),
  };
}

/** A page of the log as both transports return it. */
export interface AuditPage {
  events: AuditEvent[];
  nextPageToken: string;
}

/** Builds the service; see the file comment for when entries are written. */
export function createAuditService(deps: AuditServiceDeps) {
  const log =
    deps.log ??
    ((msg: string, fields?: Record<string, unknown>) =>
      process.stderr.write(`${JSON.stringify({ level: "error", msg, ...fields })}\n`));
  return {
    async record(e: AuditEntry): Promise<void> {
      const entry = bounded(e);
      try {
        await deps.store.audit.append(entry);
      } catch (err) {
        log("audit: the entry could not be written; it follows in full", {
          audit: entry,
          err: String(err),
        });
      }
    },

    /** Admins only; newest first. */
    async list(principal: Principal, input: unknown): Promise<AuditPage> {
      requireRole(principal, "admin", "read the audit log");
      const req = parse(schemas.listAuditEvents, {
        pageSize: 0,
        pageToken: "",
        actorId: "",
        action: "",
        targetId: "",
        ...stripUndefined(input),
      });
      const before = decodeKeyToken("a", req.pageToken);
      if (before !== undefined && !/^\d{1,19}$/.test(before)) {
        throw invalidArgument(
          "page_token: is not a token this server issued; pass back next_page_token unchanged or leave it empty.",
        );
      }
      const limit = req.pageSize || DEFAULT_PAGE_SIZE;
      const events = await deps.store.audit.list({
        limit,
        beforeId: before === undefined ? undefined : BigInt(before),
        actorId: req.actorId || undefined,
        action: req.action || undefined,
        targetId: req.targetId || undefined,
      });
      const last = events[events.length - 1];
      const nextPageToken =
        events.length === limit && last ? encodeToken("a", [last.id.toString()]) : "";
      return { events, nextPageToken };
    },
  };
}

/** The service's type, for wiring. */
export type AuditService = ReturnType<typeof createAuditService>;

function stripUndefined(input: unknown): Record<string, unknown> {
  if (!input || typeof input !== "object") return {};
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}
