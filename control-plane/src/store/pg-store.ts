/**
 * PgStore: every repository over one Kysely handle, plus transaction() which rebinds them all
 * to one transaction. The domain composes multi-table changes (reserve + insert session + event
 * + outbox row) through this, so they commit or roll back together.
 */
import type { Kysely } from "kysely";
import type { AuditRepo, Repos, Store } from "../domain/ports.ts";
import { createAgentStore } from "./agent-store.ts";
import { createCommandStore } from "./command-store.ts";
import type { Database } from "./schema.ts";
import { createSessionStore } from "./session-store.ts";
import { createTemplateStore } from "./template-store.ts";

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
    sessions: createSessionStore(db),
    templates: createTemplateStore(db),
    agents: createAgentStore(db),
    commands: createCommandStore(db),
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
