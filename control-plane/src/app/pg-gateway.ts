/**
 * The gateway wired over Postgres: registry, outbox claims, delivery and reconciliation. One
 * function so app.ts, tests and benchmarks build the production shape the same way; like
 * pg-core.ts it lives in store/ because it is where the database meets the ports it fills.
 */
import { createLogger } from "@streamspace/common/log";
import type { Kysely } from "kysely";
import type { CommandRepo } from "../domain/ports.ts";
import type { SessionReports } from "../domain/session-reports.ts";
import { createGateway, type Gateway, type GatewayDeps } from "../gateway/agent-gateway.ts";
import { commandDispatcher } from "../gateway/command-dispatcher.ts";
import { createSessionReconciler } from "../gateway/session-reconciler.ts";
import { PgAgentStore } from "../store/pg-agent-store.ts";
import { PgCommandStore } from "../store/pg-command-store.ts";
import type { Database } from "../store/schema.ts";

/** Options beyond GatewayDeps: where the data is and how delivery is timed. */
export interface PgGatewayOptions
  extends Omit<GatewayDeps, "registry" | "dispatcher" | "reconciler"> {
  db: Kysely<Database>;
  reports: SessionReports;
  commands: CommandRepo;
  /** Ack deadline of a sent command before it is sent again (default 5 s). */
  ackTimeoutMs?: number;
  /** Outbox safety-net sweep period (default 1 s). */
  dispatchSweepMs?: number;
  onDispatched?: (n: number) => void;
  onExpired?: (n: number) => void;
}

/** Builds and starts the Postgres-backed gateway. */
export async function createPgGateway(opts: PgGatewayOptions): Promise<Gateway> {
  const log = opts.log ?? createLogger({ base: { component: "agent-gateway" } });
  let gateway: Gateway | undefined;
  const reconciler = createSessionReconciler({
    reports: opts.reports,
    enqueue: (c) => opts.commands.insert(c),
    notify: (agentId) => gateway?.commandsEnqueued(agentId),
    log,
    now: opts.now,
  });
  gateway = await createGateway({
    ...opts,
    log,
    registry: new PgAgentStore(opts.db),
    reconciler,
    dispatcher: commandDispatcher({
      outbox: new PgCommandStore(opts.db),
      reports: opts.reports,
      ackTimeoutMs: opts.ackTimeoutMs,
      sweepEveryMs: opts.dispatchSweepMs,
      now: opts.now,
      log,
      onDispatched: opts.onDispatched,
      onExpired: opts.onExpired,
    }),
  });
  return gateway;
}
