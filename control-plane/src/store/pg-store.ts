/**
 * PgStore: every repository over one Kysely handle, plus transaction() which rebinds them all
 * to one transaction. The domain composes multi-table changes (reserve + insert session + event
 * + outbox row) through this, so they commit or roll back together.
 */
import { type Kysely, sql } from "kysely";
import type { AuditRepo, Repos, Store } from "../domain/ports.ts";
import { PgAgentStore } from "./pg-agent-store.ts";
import { PgCommandStore } from "./pg-command-store.ts";
import { createPgSessionStore } from "./pg-session-store.ts";
import { createPgTemplateStore } from "./pg-template-store.ts";
import type { Database } from "./schema.ts";

/** audit_log is append-only and written only here. */
function createAuditStore(db: Kysely<Database>): AuditRepo {
  return {
    async append(e) {
      await db
        .insertInto("audit_log")
        .values({
          actor_id: e.actorId,
          action: e.action,
          target_kind: e.targetKind,
          target_id: e.targetId,
          detail: JSON.stringify(e.detail ?? {}),
          source: e.source ?? "",
          transport: e.transport ?? "",
          outcome: e.outcome ?? "ok",
          message: e.message ?? "",
          request_id: e.requestId ?? "",
        })
        .execute();
    },
    async list(q) {
      let sel = db.selectFrom("audit_log").selectAll();
      if (q.beforeId !== undefined) {
        sel = sel.where(sql<boolean>`id < ${q.beforeId.toString()}::bigint`);
      }
      if (q.actorId) sel = sel.where("actor_id", "=", q.actorId);
      if (q.action) sel = sel.where("action", "=", q.action);
      if (q.targetId) sel = sel.where("target_id", "=", q.targetId);
      const rows = await sel.orderBy("id", "desc").limit(q.limit).execute();
      return rows.map((r) => ({
        // Generated<Int8> selects as the column type itself; pg gives text, PGlite a number.
        id: BigInt(r.id as unknown as string | number | bigint),
        time: r.created_at,
        actorId: r.actor_id,
        action: r.action,
        targetKind: r.target_kind,
        targetId: r.target_id,
        detail: stringValues(r.detail),
        source: r.source,
        transport: r.transport,
        outcome: r.outcome,
        message: r.message,
        requestId: r.request_id,
      }));
    },
  };
}

/** detail is a JSON object of strings as written; anything else is shown as JSON text. */
function stringValues(d: unknown): Record<string, string> {
  if (!d || typeof d !== "object") return {};
  return Object.fromEntries(
    Object.entries(d as Record<string, unknown>).map(([k, v]) => [
      k,
      typeof v === "string" ? v : JSON.stringify(v),
    ]),
  );
}

function createRepos(db: Kysely<Database>): Repos {
  return {
    sessions: createPgSessionStore(db),
    templates: createPgTemplateStore(db),
    agents: new PgAgentStore(db),
    commands: new PgCommandStore(db),
    audit: createAuditStore(db),
  };
}

/** The Store the domain services take; works the same on pg and PGlite. */
export function createPgStore(db: Kysely<Database>): Store {
  return {
    ...createRepos(db),
    transaction: (fn) => db.transaction().execute((trx) => fn(createRepos(trx))),
  };
}
