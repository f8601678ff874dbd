/**
 * The raw TCP data channel beside the HTTP/2 tunnel: a relay and an agent (createRelayLinks)
 * in-process, a scripted RFB stand-in. Checks that bytes take the data channel and arrive
 * intact both ways, that a VNC close reaches the viewer only after the last byte, that a wrong
 * or replayed secret is refused, and that the HTTP/2 path takes over when the relay refuses or
 * does not offer a data channel.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DATA_CHANNEL_PREFACE } from "@streamspace/common/tunnel-wire";
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
  WAIT,
} from "./relay-fixtures.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const agentId = "agent-dc";

/** Sends `len` scripted bytes, then closes: the viewer must get all of them before the close. */
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

/**
 * Connects to the relay's port as a data channel; resolves the bytes read before it closed and
 * who closed it: the relay, or this side after `giveUpMs` without an answer.
 */
function dialDataChannel(
  port: number,
  secret: Buffer,
  giveUpMs = 3_000,
): Promise<{ bytes: Buffer; closedBy: "relay" | "test" }> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let closedBy: "relay" | "test" = "relay";
    const s = connect({ host: "127.0.0.1", port });
    s.on("data", (c) => got.push(c));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(got), closedBy });
    });
    s.write(Buffer.concat([DATA_CHANNEL_PREFACE, secret]));
    const timer = setTimeout(() => {
      closedBy = "test";
      s.destroy();
    }, giveUpMs);
  });
}

/** The bytes a data-channel attempt got back before it was closed. */
async function tryDataChannel(port: number, secret: Buffer): Promise<Buffer> {
  return (await dialDataChannel(port, secret)).bytes;
}

async function setup(mode: "on" | "off" | "refuse") {
  const keys = await createTestKeys();
  const vnc = await startRfbStandIn(512 * 1024);
  const finite = await startFiniteVnc(3 * 1024 * 1024);
  const config: RelayConfig = {
    port: 0,
    host: "127.0.0.1",
    relayId: `relay-${mode}`,
    publicUrl: "http://127.0.0.1:0",
    membershipTtlMs: 5000,
    viewerJwks: keys.jwks,
    idleTimeoutMs: 30_000,
    tunnelSetupTimeoutMs: 3000,
    logLevel: "warn",
  };
  const relay: RelayServer = await startRelayServer(config, { log: quiet, dataChannel: mode });
  const secrets: Buffer[] = [];
  const attach = relay.registry.attachDataChannel.bind(relay.registry);
  relay.registry.attachDataChannel = (secret, socket) => {
    secrets.push(Buffer.from(secret));
    return attach(secret, socket);
  };
  const links = createRelayLinks({ agentId, log: quiet });
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
      ["s-novnc", { host: "127.0.0.1", port: 1 }],
    ]),
  );
  await eventually(() => assert.equal(relay.registry.sessions, 3));
  const url = async (sid: string) =>
    `ws://127.0.0.1:${relay.port}/vnc/${sid}?token=${encodeURIComponent(await keys.viewerToken(sid, agentId))}`;
  const stop = async () => {
    await links.close();
    await relay.close();
    await vnc.stop();
    await finite.stop();
  };
  return { relay, vnc, url, secrets, stop };
}

type Env = Awaited<ReturnType<typeof setup>>;

/** 2 MB up, the greeting and bulk down plus the echo: hashes must match. */
async function scriptedExchange(env: Env) {
  const v = new Viewer(await env.url("s1"));
  await v.opened;
  const script = scriptedBytes("viewer-dc", 2_000_000);
  for (let off = 0; off < script.length; off += 50_000)
    v.ws.send(script.subarray(off, off + 50_000));
  const expected = Buffer.concat([RFB_GREETING, scriptedBytes("bulk", env.vnc.bulkBytes), script]);
  const got = await v.waitFor(expected.length);
  assert.equal(got.length, expected.length);
  assert.equal(sha(got), sha(expected));
  v.close();
}

describe("data channel (relay offers and accepts)", () => {
  let env: Env;
  before(async () => {
    env = await setup("on");
  });
  after(() => env?.stop());

  it("carries the scripted exchange intact on the data channel", async () => {
    await scriptedExchange(env);
    assert.equal(env.relay.metrics.dataChannelsTotal, 1);
    assert.equal(env.secrets.length, 1);
  });

  it("delivers every byte before the VNC server's close", async () => {
    const v = new Viewer(await env.url("s-finite"));
    const c = await v.waitClosed();
    assert.equal(c.code, 1000);
    assert.equal(sha(v.bytes()), sha(scriptedBytes("finite", 3 * 1024 * 1024)));
  });

  it("passes close codes through (VNC unreachable → 1011)", async () => {
    const v = new Viewer(await env.url("s-novnc"));
    const c = await v.waitClosed();
    assert.equal(c.code, 1011);
    assert.match(c.reason, /unreachable/);
  });

  it("refuses a wrong secret and a replayed one without an answer", async () => {
    assert.equal((await tryDataChannel(env.relay.port, randomBytes(32))).length, 0);
    const used = env.secrets[0];
    assert.ok(used);
    assert.equal((await tryDataChannel(env.relay.port, used)).length, 0);
    // A live tunnel's secret cannot be reused either, even while its viewer is connected.
    const v = new Viewer(await env.url("s1"));
    await v.waitFor(12);
    const live = env.secrets.at(-1)!;
    assert.notEqual(sha(live), sha(used));
    assert.equal((await tryDataChannel(env.relay.port, live)).length, 0);
    v.ws.send(Buffer.from("still works"));
    await v.waitFor(12 + env.vnc.bulkBytes + 11);
    v.close();
  });
});

for (const mode of ["refuse", "off"] as const) {
  describe(`fallback to the HTTP/2 stream (relay data channel ${mode})`, () => {
    let env: Env;
    before(async () => {
      env = await setup(mode);
    });
    after(() => env?.stop());

    it("carries the scripted exchange intact on the HTTP/2 stream", async () => {
      await scriptedExchange(env);
      assert.equal(env.relay.metrics.dataChannelsTotal, 0);
      if (mode === "refuse") {
        // A refusal is a socket the relay closes (the agent falls back at once), never one left
        // open for the agent's deadline to run out; the wait here is only a hang guard.
        const attempt = await dialDataChannel(env.relay.port, randomBytes(32), WAIT.long);
        assert.equal(attempt.closedBy, "relay", "the relay closes a refused data channel");
        assert.equal(attempt.bytes.length, 0, "and sends nothing on it");
      } else {
        assert.equal(env.secrets.length, 0, "no data channel is offered, so none is dialled");
      }
    });

    it("still closes with the VNC server after the last byte", async () => {
      const v = new Viewer(await env.url("s-finite"));
      const c = await v.waitClosed();
      assert.equal(c.code, 1000);
      assert.equal(sha(v.bytes()), sha(scriptedBytes("finite", 3 * 1024 * 1024)));
    });
  });
}
