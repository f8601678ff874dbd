/**
 * One gateway pod of the round-trip benchmark, in its own process: a gateway with the Redis
 * hub and the Postgres outbox, optionally serving agents over h2c, and the API's side of a
 * command (INSERT the outbox row, then notify), driven by the orchestrator over IPC.
 *
 *   forked by round-trip.ts with: <pod name> <database url> <redis url> <serve: 0|1>
 */
import { randomUUID } from "node:crypto";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CommandSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { createGateway } from "../../control-plane/src/gateway/agent-gateway.ts";
import { commandDispatcher } from "../../control-plane/src/gateway/command-dispatcher.ts";
import { startGatewayServer } from "../../control-plane/src/gateway/gateway-test-kit.ts";
import { RedisAgentHub } from "../../control-plane/src/hub/redis-agent-hub.ts";
import { createStaticRelayRingSource } from "../../control-plane/src/relay-ring/static-relay-ring-source.ts";
import { createDatabase } from "../../control-plane/src/store/database.ts";
import { MemoryAgentRegistry } from "../../control-plane/src/store/memory-agent-registry.ts";
import { PgCommandStore } from "../../control-plane/src/store/pg-command-store.ts";
import { type ChildReport, monoMs, type RunRequest, type StageTrace } from "./round-trip-ipc.ts";

const [name = "pod", dbUrl = "", redisUrl = "", serve = "0"] = process.argv.slice(2);
const quiet = { info() {}, warn() {}, error: (m: string, f?: object) => console.error(m, f) };
const report = (m: ChildReport) => process.send?.(m);

/** Per-stage trace of this run, on the monotonic clock (handed over with "trace"). */
let trace: StageTrace = emptyTrace();
function emptyTrace(): StageTrace {
  return { insertDone: {}, pokes: {}, claims: [], acks: [], gc: [] };
}

/** Counts (and times) the delivery statements, to report how many a command costs. */
class CountingClaims extends PgCommandStore {
  claims = 0;
  acks = 0;
  override async claimDue(...a: Parameters<PgCommandStore["claimDue"]>) {
    this.claims++;
    const start = monoMs();
    const rows = await super.claimDue(...a);
    trace.claims.push({ start, end: monoMs(), agents: a[0].length, ids: rows.map((r) => r.id) });
    return rows;
  }
  override async acknowledge(...a: Parameters<PgCommandStore["acknowledge"]>) {
    this.acks++;
    const start = monoMs();
    const n = await super.acknowledge(...a);
    trace.acks.push({ start, end: monoMs(), n: a[0].length });
    return n;
  }
}

// Event-loop delay and GC pauses of this process, reset with each trace.
const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) trace.gc.push({ at: e.startTime, ms: e.duration });
}).observe({ entryTypes: ["gc"] });

const { db } = await createDatabase({ databaseUrl: dbUrl, poolSize: 20 });
const commands = new PgCommandStore(db);
const outbox = new CountingClaims(db);
const gateway = await createGateway({
  pod: name,
  registry: new MemoryAgentRegistry(),
  ring: createStaticRelayRingSource([]),
  bootstrapToken: "b",
  autoApprove: true,
  hub: new RedisAgentHub({ pod: name, url: redisUrl, log: quiet }),
  // Results are not part of this figure (as in the first measurement): they are dropped.
  dispatcher: (streams) => {
    const d = commandDispatcher({
      outbox,
      reports: { applyCommandResult: async () => undefined },
      log: quiet,
      // ROUND_TRIP_CLAIMS: due-claims in flight at once (default: the dispatcher's).
      claimsInFlight: Number(process.env.ROUND_TRIP_CLAIMS) || undefined,
    })(streams);
    // Notes when each poke (local or from Redis) reaches this pod's dispatcher.
    const poke = d.poke.bind(d);
    d.poke = (agentId: string) => {
      const list = trace.pokes[agentId] ?? [];
      list.push(monoMs());
      trace.pokes[agentId] = list;
      poke(agentId);
    };
    return d;
  },
  log: quiet,
});
const server = serve === "1" ? await startGatewayServer(gateway) : undefined;

/** What the API does after its transaction commits: the outbox row, then the poke. */
async function issue(agentId: string, id: string): Promise<void> {
  const deadline = new Date(Date.now() + 60_000);
  const payload = toBinary(
    CommandSchema,
    create(CommandSchema, {
      commandId: id,
      deadline: timestampFromDate(deadline),
      action: { case: "drain", value: {} },
    }),
  );
  await commands.insert({ id, agentId, sessionId: null, kind: "drain", payload, deadline });
  trace.insertDone[id] = monoMs();
  gateway.commandsEnqueued(agentId);
}

/** Open loop: command i is due at start + i/rate, whether or not earlier ones finished. */
async function run(r: RunRequest): Promise<void> {
  const total = r.rate * r.seconds;
  const ids: string[] = [];
  const at: number[] = [];
  const inflight: Promise<void>[] = [];
  const start = monoMs();
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / r.rate - monoMs();
    if (wait > 1) await new Promise((res) => setTimeout(res, wait));
    const id = randomUUID();
    ids.push(id);
    at.push(monoMs());
    inflight.push(issue(`bench-${i % r.agents}`, id));
  }
  await Promise.all(inflight);
  report({ type: "sent", runId: r.runId, ids, at });
}

process.on("message", (m: RunRequest | { type: "stop" | "stats" | "trace" }) => {
  if (m.type === "run") void run(m);
  else if (m.type === "trace") {
    const t = trace;
    trace = emptyTrace();
    report({
      type: "trace",
      trace: t,
      eld: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
    });
    eld.reset();
  } else if (m.type === "stats") {
    report({ type: "stats", claims: outbox.claims, acks: outbox.acks });
  } else
    void (async () => {
      if (server) await server.close();
      else await gateway.close();
      await db.destroy();
      process.exit(0);
    })();
});
report({ type: "ready", url: server?.url });
