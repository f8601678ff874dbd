import { startLocalCluster } from "../deploy/local/cluster.ts";
import { createTestKeys } from "./relay-fixtures.ts";
const keys = await createTestKeys();
const cluster = await startLocalCluster({ controlPlanes: 0, relays: 3, relayTtlMs: 1500, viewerJwks: keys.jwks });
const status = async () => { const csv = await (await fetch(cluster.haproxyStatsUrl + ";csv")).text(); return csv.split("\n").filter((l) => l.startsWith("relays,relay-2") || l.startsWith("relay_relay-2,relay-2")).map((l) => l.split(",")[17]).join(" "); };
console.error("before", await status());
const t0 = Date.now();
await cluster.relays[1]!.kill("SIGKILL");
let last = "";
while (Date.now() - t0 < 4000) { const s = await status(); if (s !== last) { console.error(Date.now() - t0, s); last = s; } await new Promise((r) => setTimeout(r, 20)); }
await cluster.stop();
