/**
 * Wires the core domain services over one database handle, so app.ts, tests and the bench
 * build them the same way. Ports the gateway and auth implement are optional and default to
 * no-ops, which keeps single-component tests small.
 */
import type { Kysely } from "kysely";
import { type CredentialPusher, createAgentService } from "../domain/agent-service.ts";
import { createAuditService } from "../domain/audit-service.ts";
import type { OutboxNotifier, RevokedAgentCutter, SessionChangeBus } from "../domain/ports.ts";
import { createSessionReports } from "../domain/session-reports.ts";
import { createSessionService, type ViewerTokenPort } from "../domain/session-service.ts";
import { createTemplateService } from "../domain/template-service.ts";
import { MemorySessionChangeBus } from "./memory-session-change-bus.ts";
import { PgAgentStore } from "./pg-agent-store.ts";
import { createPgStore } from "./pg-store.ts";
import type { Database } from "./schema.ts";

export interface PgCoreOptions {
  bus?: SessionChangeBus;
  notifier?: OutboxNotifier;
  cutter?: RevokedAgentCutter;
  pusher?: CredentialPusher;
  viewerTokens?: ViewerTokenPort;
  now?: () => Date;
  /** The serving request's W3C trace context, stored in every command (DESIGN.md §8). */
  traceContext?: () => Record<string, string>;
  /** Where an audit entry goes when it cannot be written (it is logged whole instead). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Store + sessions, templates, agents and the report API the gateway calls, plus the agents
 * table as the gateway sees it (enrolment and liveness, the same one writer as store.agents).
 */
export function createPgCore(db: Kysely<Database>, opts: PgCoreOptions = {}) {
  const store = createPgStore(db);
  const bus = opts.bus ?? new MemorySessionChangeBus();
  return {
    store,
    bus,
    registry: new PgAgentStore(db),
    sessions: createSessionService({
      store,
      bus,
      notifier: opts.notifier,
      viewerTokens: opts.viewerTokens,
      now: opts.now,
      traceContext: opts.traceContext,
    }),
    templates: createTemplateService({ store }),
    agents: createAgentService({
      store,
      cutter: opts.cutter,
      pusher: opts.pusher,
      notifier: opts.notifier,
      now: opts.now,
      traceContext: opts.traceContext,
    }),
    reports: createSessionReports({ store, bus, notifier: opts.notifier }),
    audit: createAuditService({ store, log: opts.log }),
  };
}

/** The wired core, for app.ts and tests. */
export type PgCore = ReturnType<typeof createPgCore>;
