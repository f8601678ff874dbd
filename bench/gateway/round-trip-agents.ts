/**
 * The simulated agents of the round-trip benchmark, in their own process so the figure
 * measures the gateways rather than one saturated harness. Each agent holds a real gRPC
 * stream, acks every command at once and answers it (SimAgent); this process notes when each
 * command id first arrives and hands the times over when the orchestrator collects.
 *
 *   forked by round-trip.ts with: <pod url> <agents> <first index>
 */
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { SimAgent } from "../../e2e/sim-agent.ts";
import { type ChildReport, type CollectRequest, monoMs } from "./round-trip-ipc.ts";

const [url = "", count = "50", first = "0"] = process.argv.slice(2);
const report = (m: ChildReport) => process.send?.(m);
const manager = new Http2SessionManager(url);
const transport = createGrpcTransport({ baseUrl: url, sessionManager: manager });
let ids: string[] = [];
let at: number[] = [];
const agents = Array.from(
  { length: Number(count) },
  (_, i) =>
    new SimAgent({
      id: `bench-${Number(first) + i}`,
      pods: [url],
      bootstrapToken: "b",
      transportFor: () => transport,
      onCommand: (c, agent) => {
        if ((agent.received.get(c.commandId) ?? 0) > 1) return; // a redelivery
        ids.push(c.commandId);
        at.push(monoMs());
      },
    }),
);
for (const a of agents) a.start();
while (agents.some((a) => !a.connected)) await new Promise((r) => setTimeout(r, 20));
report({ type: "ready" });

process.on("message", (m: CollectRequest | { type: "stop" }) => {
  if (m.type === "collect") {
    report({ type: "received", ids, at });
    ids = [];
    at = [];
    return;
  }
  void Promise.all(agents.map((a) => a.stop())).then(() => {
    manager.abort();
    process.exit(0);
  });
});
