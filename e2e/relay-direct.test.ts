/**
 * Direct mode: the agent announces each session's VNC endpoint and a relay allowed to reach it
 * (RELAY_DIRECT_NETS) dials it itself instead of asking the agent for a tunnel. A relay and an
 * agent (createRelayLinks) in-process, a scripted RFB stand-in. Checks that the exchange is
 * intact and takes no tunnel, that every byte arrives before the VNC server's close, and that
 * the tunnel takes over when the endpoint is outside the allowed networks, when the relay
 * cannot reach it, when the agent does not offer endpoints, and that a token naming another
 * agent is still refused.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  RelayMemberSchema,
  RelayRingSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { createRelayLinks } from "../agents/src/relay/index.ts";
import type { RelayConfig } from "../dataplane/src/config.ts";
import { type RelayServer, startRelayServer } from "../dataplane/src/relay-server.ts";
import {
  createTestKeys,
  eventually,
  RFB_GREETING,
  scriptedBytes,
  sha,
  startRfbStandIn,
  Viewer,
} from "./relay-fixtures.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const agentId = "agent-direct";

/** Sends `len` scripted bytes, then closes. */
async function startFiniteVnc(len: number) {
  const server: Server = createServer({ noDelay: true }, (s) => {
    s.on("error", () => {});
    s.end(scriptedBytes("finite", len));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function setup(opts: { nets?: string; agentDirect: boolean; idleTimeoutMs?: number }) {
  const keys = await createTestKeys();
  const vnc = await startRfbStandIn(512 * 1024);
  const finite = await startFiniteVnc(3 * 1024 * 1024);
  const config: RelayConfig = {
    port: 0,
    host: "127.0.0.1",
    relayId: "relay-direct",
    publicUrl: "http://127.0.0.1:0",
    membershipTtlMs: 5000,
    viewerJwks: keys.jwks,
    idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
    tunnelSetupTimeoutMs: 3000,
    logLevel: "warn",
    directNets: opts.nets,
  };
  const relay: RelayServer = await startRelayServer(config, { log: quiet });
  const links = createRelayLinks({ agentId, log: quiet, direct: opts.agentDirect });
  links.updateRing(
    create(RelayRingSchema, {
      epoch: 1n,
      members: [create(RelayMemberSchema, { id: config.relayId, url: relay.url })],
      relayToken: await keys.relayToken(agentId),
    }),
  );
  links.sessionsChanged(
    new Map([
      ["s1", { host: vnc.host, port: vnc.port }],
      ["s-finite", { host: "127.0.0.1", port: finite.port }],
    ]),
  );
  await eventually(() => assert.equal(relay.registry.sessions, 2));
  const url = async (sid: string, aid = agentId) =>
    `ws://127.0.0.1:${relay.port}/vnc/${sid}?token=${encodeURIComponent(await keys.viewerToken(sid, aid))}`;
  const stop = async () => {
    await links.close();
    await relay.close();
    await vnc.stop();
    await finite.stop();
  };
  return { relay, vnc, url, stop };
}

type Env = Awaited<ReturnType<typeof setup>>;

/** 2 MB up, the greeting and bulk down plus the echo: hashes must match. */
async function scriptedExchange(env: Env) {
  const v = new Viewer(await env.url("s1"));
  await v.opened;
  const script = scriptedBytes("viewer-direct", 2_000_000);
  for (let off = 0; off < script.length; off += 50_000)
    v.ws.send(script.subarray(off, off + 50_000));
  const expected = Buffer.concat([RFB_GREETING, scriptedBytes("bulk", env.vnc.bulkBytes), script]);
  const got = await v.waitFor(expected.length);
  assert.equal(got.length, expected.length);
  assert.equal(sha(got), sha(expected));
  v.close();
}

/** How many viewers took which path so far. */
const paths = (env: Env) => ({
  direct: env.relay.metrics.directTotal,
  tunnel: env.relay.metrics.connectionsTotal - env.relay.metrics.directTotal,
  fallbacks: env.relay.metrics.directFallbacksTotal,
});

describe("direct mode (relay may reach the endpoint)", () => {
  let env: Env;
  before(async () => {
    env = await setup({ nets: "127.0.0.0/8", agentDirect: true });
  });
  after(() => env?.stop());

  it("carries the scripted exchange intact without a tunnel", async () => {
    await scriptedExchange(env);
    assert.deepEqual(paths(env), { direct: 1, tunnel: 0, fallbacks: 0 });
    assert.equal(env.relay.metrics.dataChannelsTotal, 0);
  });

  it("delivers every byte before the VNC server's close, then closes 1000", async () => {
    const v = new Viewer(await env.url("s-finite"));
    const c = await v.waitClosed();
    assert.equal(c.code, 1000);
    assert.equal(sha(v.bytes()), sha(scriptedBytes("finite", 3 * 1024 * 1024)));
  });

  it("refuses a token that names another agent (4404), without dialling", async () => {
    const before = paths(env).direct;
    const v = new Viewer(await env.url("s1", "someone-else"));
    const c = await v.waitClosed();
    assert.equal(c.code, 4404);
    assert.equal(paths(env).direct, before);
  });

  it("takes the agent's tunnel when the relay cannot reach the endpoint", async () => {
    // The agent still reaches the VNC server; only the relay's dial fails.
    const real = env.relay.registry.directEndpoint.bind(env.relay.registry);
    env.relay.registry.directEndpoint = (sid, aid) =>
      real(sid, aid) ? { host: "127.0.0.1", port: 1 } : undefined;
    try {
      const before = paths(env);
      await scriptedExchange(env);
      assert.deepEqual(paths(env), {
        direct: before.direct,
        tunnel: before.tunnel + 1,
        fallbacks: before.fallbacks + 1,
      });
    } finally {
      env.relay.registry.directEndpoint = real;
    }
  });
});

for (const [name, opts] of [
  ["endpoint outside RELAY_DIRECT_NETS", { nets: "10.0.0.0/8,fd00::/8", agentDirect: true }],
  ["relay without RELAY_DIRECT_NETS", { agentDirect: true }],
  ["agent does not offer endpoints", { nets: "127.0.0.0/8", agentDirect: false }],
] as const) {
  describe(`tunnel instead of direct: ${name}`, () => {
    let env: Env;
    before(async () => {
      env = await setup(opts);
    });
    after(() => env?.stop());

    it("carries the exchange on the tunnel and never dials", async () => {
      await scriptedExchange(env);
      assert.deepEqual(paths(env), { direct: 0, tunnel: 1, fallbacks: 0 });
    });
  });
}

describe("direct mode: the idle sweep covers direct viewers", () => {
  let env: Env;
  before(async () => {
    env = await setup({ nets: "127.0.0.0/8", agentDirect: true, idleTimeoutMs: 300 });
  });
  after(() => env?.stop());

  it("closes an idle direct viewer with 4408", async () => {
    const v = new Viewer(await env.url("s1"));
    await v.waitFor(RFB_GREETING.length);
    const c = await v.waitClosed();
    assert.equal(c.code, 4408);
    assert.equal(paths(env).direct, 1);
  });
});

describe("direct mode: relay shutdown", () => {
  let env: Env;
  before(async () => {
    env = await setup({ nets: "127.0.0.0/8", agentDirect: true });
  });
  after(() => env?.stop());

  it("closes a direct viewer with 1001 when the relay shuts down", async () => {
    const v = new Viewer(await env.url("s1"));
    await v.waitFor(RFB_GREETING.length);
    await env.relay.close();
    const c = await v.waitClosed();
    assert.equal(c.code, 1001);
    assert.equal(paths(env).direct, 1);
  });
});
