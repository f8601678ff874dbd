/**
 * One client process of the fan-in benchmark: `count` simulated agents (real gRPC streams,
 * heartbeats at the interval Welcome names) spread over `connections` HTTP/2 connections.
 * Prints "connected <n>" once a second so the orchestrator can follow the ramp.
 *
 *   node --import tsx bench/gateway/fan-in-client.ts <url> <bootstrapToken> <count> <offset> <connections>
 */
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { SimAgent } from "../../e2e/sim-agent.ts";

const [url = "", token = "", count = "0", offset = "0", conns = "10"] = process.argv.slice(2);
const managers = Array.from({ length: Number(conns) }, () => new Http2SessionManager(url));
const transports = managers.map((m) => createGrpcTransport({ baseUrl: url, sessionManager: m }));
const agents: SimAgent[] = [];
for (let i = 0; i < Number(count); i++) {
  const transport = transports[i % transports.length];
  if (!transport) throw new Error("no transport");
  const a = new SimAgent({
    id: `fan-${Number(offset) + i}`,
    pods: [url],
    bootstrapToken: token,
    transportFor: () => transport,
  });
  agents.push(a);
  a.start();
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20)); // a gentle ramp
}
const tick = setInterval(() => {
  process.stdout.write(`connected ${agents.filter((a) => a.connected).length}\n`);
}, 1000);
process.on("SIGTERM", async () => {
  clearInterval(tick);
  await Promise.all(agents.map((a) => a.stop()));
  for (const m of managers) m.abort();
  process.exit(0);
});
