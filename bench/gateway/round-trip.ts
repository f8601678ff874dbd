/**
 * Command round trip through the gateway (issue 4, bench b; DESIGN.md §9: p99 < 10 ms at
 * 1,000 commands/s across pods). Two gateways ("pod-a", "pod-b") in this process, each with a
 * RedisAgentHub on one real Redis and the Postgres outbox on one real Postgres; simulated
 * agents hold real HTTP/2 gRPC streams to pod-b. A command is what the API does after commit:
 * insert the outbox row, then notify the gateway of the pod that served the request (pod-b:
 * same pod; pod-a: across pods through Redis pub/sub). Measured: insert start → the agent
 * receives the command (it acks at once), at a steady open-loop rate.
 *
 *   node --import tsx bench/gateway/round-trip.ts [rate=1000] [seconds=10] [agents=50]
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CommandSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { createGateway, type Gateway } from "../../control-plane/src/gateway/agent-gateway.ts";
import { MemoryAgentRegistry } from "../../control-plane/src/gateway/agent-registry.ts";
import { commandDispatcher } from "../../control-plane/src/gateway/command-dispatcher.ts";
import { startGatewayServer } from "../../control-plane/src/gateway/gateway-test-kit.ts";
import { PgOutboxClaims } from "../../control-plane/src/gateway/pg-outbox-claims.ts";
import { staticRelayRingSource } from "../../control-plane/src/gateway/relay-ring-source.ts";
import { RedisAgentHub } from "../../control-plane/src/hub/redis-agent-hub.ts";
import { createCommandStore } from "../../control-plane/src/store/command-store.ts";
import { createTestDatabase } from "../../control-plane/src/store/test-database.ts";
import { SimAgent } from "../../e2e/sim-agent.ts";
import { startPostgres, startRedis } from "../../scripts/services.ts";

const [rate = 1000, seconds = 10, nAgents = 50] = process.argv.slice(2).map(Number);
const quiet = { info() {}, warn() {}, error: (m: string, f?: object) => console.error(m, f) };

await using pgSvc = await startPostgres();
await using redis = await startRedis();
process.env.TEST_POSTGRES_URL = pgSvc.url;
await using tdb = await createTestDatabase({ poolSize: 20 });
const commands = createCommandStore(tdb.db);
// Acks do the outbox write the real report API does; results are not part of this figure.
const reports = {
  acknowledgeCommand: async (_a: string, id: string) => !!(await commands.setStatus(id, "acked")),
  applyCommandResult: async () => undefined,
};

async function pod(name: string): Promise<Gateway> {
  return createGateway({
    pod: name,
    registry: new MemoryAgentRegistry(),
    ring: staticRelayRingSource([]),
    bootstrapToken: "b",
    autoApprove: true,
    hub: new RedisAgentHub({ pod: name, url: redis.url, log: quiet }),
    dispatcher: commandDispatcher({ outbox: new PgOutboxClaims(tdb.db), reports, log: quiet }),
    log: quiet,
  });
}
const a = await pod("pod-a");
const b = await pod("pod-b");
const serverB = await startGatewayServer(b);
const manager = new Http2SessionManager(serverB.url);
const transport = createGrpcTransport({ baseUrl: serverB.url, sessionManager: manager });
const sent = new Map<string, number>();
const latencies: number[] = [];
const agents = Array.from(
  { length: nAgents },
  (_, i) =>
    new SimAgent({
      id: `bench-${i}`,
      pods: [serverB.url],
      bootstrapToken: "b",
      transportFor: () => transport,
      onCommand: (c) => {
        const t = sent.get(c.commandId);
        if (t === undefined) return; // a redelivery: already counted
        sent.delete(c.commandId);
        latencies.push(performance.now() - t);
      },
    }),
);
for (const ag of agents) ag.start();
while (b.connectedAgents() < nAgents) await new Promise((r) => setTimeout(r, 50));

async function issue(via: Gateway, i: number) {
  const agentId = `bench-${i % nAgents}`;
  const id = randomUUID();
  const deadline = new Date(Date.now() + 60_000);
  const payload = toBinary(
    CommandSchema,
    create(CommandSchema, {
      commandId: id,
      deadline: timestampFromDate(deadline),
      action: { case: "drain", value: {} },
    }),
  );
  sent.set(id, performance.now());
  await commands.insert({ id, agentId, sessionId: null, kind: "drain", payload, deadline });
  via.commandsEnqueued(agentId);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function run(label: string, via: Gateway) {
  latencies.length = 0;
  sent.clear();
  const total = rate * seconds;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(issue(via, i));
  }
  await Promise.all(inflight);
  const deadline = performance.now() + 10_000;
  while (latencies.length < total && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const achieved = (total / (performance.now() - start)) * 1000;
  console.log(
    `${label}: ${latencies.length}/${total} delivered, offered ${rate}/s for ${seconds}s; p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(1)} ms (wall ${achieved.toFixed(0)}/s)`,
  );
}

await run("warm-up (same pod)", b);
await run("across pods (pod-a → Redis → pod-b)", a);
await run("same pod (pod-b → its agents)", b);
await run("across pods (pod-a → Redis → pod-b)", a);
for (const ag of agents) await ag.stop();
manager.abort();
await serverB.close();
await a.close();
