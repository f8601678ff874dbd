/**
 * The agent half of the benchmark path, as its own process (so the relay's CPU is measured
 * alone): createRelayLinks with a one-relay ring, BENCH_SESSIONS sessions all pointing at the
 * VNC stand-in. Env: RELAY_URL, RELAY_TOKEN, BENCH_SESSIONS, VNC_PORT, BENCH_DIRECT=1 (announce
 * the endpoints for direct mode).
 */
import { create } from "@bufbuild/protobuf";
import {
  RelayMemberSchema,
  RelayRingSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { createRelayLinks } from "../../agents/src/relay/index.ts";

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const links = createRelayLinks({
  agentId: "bench-agent",
  log: { info() {}, warn: (m, f) => console.error(m, f) },
  direct: process.env.BENCH_DIRECT === "1",
});
links.updateRing(
  create(RelayRingSchema, {
    epoch: 1n,
    members: [create(RelayMemberSchema, { id: "bench-relay", url: env("RELAY_URL") })],
    relayToken: env("RELAY_TOKEN"),
  }),
);
const n = Number(env("BENCH_SESSIONS"));
const port = Number(env("VNC_PORT"));
links.sessionsChanged(
  new Map(Array.from({ length: n }, (_, i) => [`bench-${i}`, { host: "127.0.0.1", port }])),
);
process.on("SIGTERM", () => void links.close().then(() => process.exit(0)));
