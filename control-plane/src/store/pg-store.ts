/**
 * PgStore: every repository over one Kysely handle, plus transaction() which rebinds them all
 * to one transaction. The domain composes multi-table changes (reserve + insert session + event
 * + outbox row) through this, so they commit or roll back together.
 */
import type { Kysely } from "kysely";
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
        })
        .execute();
    },
  };
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
