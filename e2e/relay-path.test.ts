/**
 * One relay, one agent (createRelayLinks), a scripted RFB stand-in: the viewer path end to end
 * in-process — bytes intact both ways, several viewers per session, every refusal with its
 * close code, idle timeout, and metrics.
 */
import assert from "node:assert/strict";
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
  WAIT,
} from "./relay-fixtures.ts";

const quiet = process.env.RELAY_TEST_LOG
  ? { debug: console.error, info: console.error, warn: console.error, error: console.error }
  : { debug() {}, info() {}, warn() {}, error() {} };

describe("relay path (one relay, one agent)", () => {
  let keys: Awaited<ReturnType<typeof createTestKeys>>;
  let vnc: Awaited<ReturnType<typeof startRfbStandIn>>;
  let relay: RelayServer;
  let links: ReturnType<typeof createRelayLinks>;
  const agentId = "agent-a";
  const url = (sid: string, token: string) =>
    `ws://127.0.0.1:${relay.port}/vnc/${sid}?token=${encodeURIComponent(token)}`;

  before(async () => {
    keys = await createTestKeys();
    vnc = await startRfbStandIn(32 * 1024);
    const config: RelayConfig = {
      port: 0,
      host: "127.0.0.1",
      relayId: "relay-1",
      publicUrl: "http://127.0.0.1:0",
      membershipTtlMs: 5000,
      viewerJwks: keys.jwks,
      idleTimeoutMs: 800,
      tunnelSetupTimeoutMs: 3000,
      logLevel: "warn",
    };
    relay = await startRelayServer(config, { log: quiet });
    links = createRelayLinks({ agentId, log: quiet });
    links.updateRing(
      create(RelayRingSchema, {
        epoch: 1n,
        members: [create(RelayMemberSchema, { id: "relay-1", url: relay.url })],
        relayToken: await keys.relayToken(agentId),
      }),
    );
    links.sessionsChanged(
      new Map([
        ["s1", { host: vnc.host, port: vnc.port }],
        ["s-novnc", { host: "127.0.0.1", port: 1 }],
      ]),
    );
    await eventually(() => assert.equal(relay.registry.sessions, 2));
  });

  after(async () => {
    await links?.close();
    await relay?.close();
    await vnc?.stop();
  });

  it("relays the scripted exchange intact in both directions", async () => {
    const v = new Viewer(url("s1", await keys.viewerToken("s1", agentId)));
    await v.opened;
    assert.equal(v.ws.protocol, "binary");
    const script = scriptedBytes("viewer-s1", 200_000);
    for (let off = 0; off < script.length; off += 7_000)
      v.ws.send(script.subarray(off, off + 7_000));
    const expected = Buffer.concat([RFB_GREETING, scriptedBytes("bulk", vnc.bulkBytes), script]);
    const got = await v.waitFor(expected.length);
    assert.equal(sha(got.subarray(0, expected.length)), sha(expected));
    v.close();
  });

  it("serves several viewers of one session at once", async () => {
    const viewers = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const v = new Viewer(url("s1", await keys.viewerToken("s1", agentId)));
        await v.opened;
        v.ws.send(scriptedBytes(`m${i}`, 1000));
        return v;
      }),
    );
    await eventually(() => assert.equal(relay.metrics.connectionsActive, 3));
    for (const [i, v] of viewers.entries()) {
      const got = await v.waitFor(12 + vnc.bulkBytes + 1000);
      assert.equal(sha(got.subarray(12 + vnc.bulkBytes)), sha(scriptedBytes(`m${i + 1}`, 1000)));
      v.close();
    }
    await eventually(() => assert.equal(relay.metrics.connectionsActive, 0));
  });

  it("refuses bad, foreign, reused and expired tokens with 4401/4403", async () => {
    const bad = new Viewer(url("s1", "not-a-jwt"));
    assert.equal((await bad.waitClosed()).code, 4401);
    const other = new Viewer(url("s1", await keys.viewerToken("s2", agentId)));
    assert.match((await other.waitClosed()).reason, /another session/);
    const wrongAud = new Viewer(
      url("s1", await keys.viewerToken("s1", agentId, { aud: "streamspace-relay" })),
    );
    assert.equal((await wrongAud.waitClosed()).code, 4401);
    const expired = new Viewer(url("s1", await keys.viewerToken("s1", agentId, { ttlS: -10 })));
    assert.equal((await expired.waitClosed()).code, 4401);
    const token = await keys.viewerToken("s1", agentId);
    const first = new Viewer(url("s1", token));
    await first.opened;
    const again = new Viewer(url("s1", token));
    const c = await again.waitClosed();
    assert.equal(c.code, 4403);
    assert.match(c.reason, /already used/);
    first.close();
  });

  it("closes 4404 when no agent serves the session or the token names another agent", async () => {
    const none = new Viewer(url("nobody", await keys.viewerToken("nobody", agentId)));
    assert.equal((await none.waitClosed()).code, 4404);
    const wrongAgent = new Viewer(url("s1", await keys.viewerToken("s1", "agent-z")));
    assert.equal((await wrongAgent.waitClosed()).code, 4404);
  });

  it("closes 1011 when the session's VNC server is unreachable", async () => {
    const v = new Viewer(url("s-novnc", await keys.viewerToken("s-novnc", agentId)));
    const c = await v.waitClosed();
    assert.equal(c.code, 1011);
    assert.match(c.reason, /unreachable/);
  });

  it("closes idle viewers with 4408 after VNC_PROXY_TIMEOUT", async () => {
    const v = new Viewer(url("s1", await keys.viewerToken("s1", agentId)));
    await v.waitFor(12 + vnc.bulkBytes);
    const c = await v.waitClosed(WAIT.medium);
    assert.equal(c.code, 4408);
  });

  it("rejects unknown paths and reports metrics", async () => {
    const res = await fetch(`${relay.url}/metrics`);
    const text = await res.text();
    assert.match(text, /streamspace_vnc_connections_active\{relay="relay-1"\} \d+/);
    assert.match(text, /streamspace_vnc_tunnel_setup_seconds_count\{relay="relay-1"\} [1-9]/);
    assert.match(text, /streamspace_vnc_bytes_total\{relay="relay-1",direction="in"\} [1-9]/);
    assert.equal((await fetch(`${relay.url}/health`)).status, 200);
    assert.equal((await fetch(`${relay.url}/ready`)).status, 200);
    const bogus = new Viewer(`ws://127.0.0.1:${relay.port}/other`);
    await assert.rejects(bogus.opened, /HTTP 404/);
  });
});
