/**
 * Concurrent viewers per session are bounded at the relay that serves the session
 * (RELAY_MAX_VIEWERS_PER_SESSION): one more is closed with 4429 and the wait in its reason,
 * its token unspent, so the same token gets in once a place is free. Other sessions are not
 * affected. One relay, one agent, a scripted RFB stand-in, all in-process.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  RelayMemberSchema,
  RelayRingSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { createRelayLinks } from "../agents/src/relay/index.ts";
import { type RelayServer, startRelayServer } from "../dataplane/src/relay-server.ts";
import { createTestKeys, eventually, startRfbStandIn, Viewer } from "./relay-fixtures.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const LIMIT = 3;

describe("viewers per session", () => {
  let keys: Awaited<ReturnType<typeof createTestKeys>>;
  let vnc: Awaited<ReturnType<typeof startRfbStandIn>>;
  let relay: RelayServer;
  let links: ReturnType<typeof createRelayLinks>;
  const agentId = "agent-v";
  const url = (sid: string, token: string) =>
    `ws://127.0.0.1:${relay.port}/vnc/${sid}?token=${encodeURIComponent(token)}`;

  before(async () => {
    keys = await createTestKeys();
    vnc = await startRfbStandIn(1024);
    relay = await startRelayServer(
      {
        port: 0,
        host: "127.0.0.1",
        relayId: "relay-v",
        publicUrl: "http://127.0.0.1:0",
        membershipTtlMs: 5000,
        viewerJwks: keys.jwks,
        idleTimeoutMs: 60_000,
        tunnelSetupTimeoutMs: 3000,
        logLevel: "warn",
        maxViewersPerSession: LIMIT,
      },
      { log: quiet },
    );
    links = createRelayLinks({ agentId, log: quiet });
    links.updateRing(
      create(RelayRingSchema, {
        epoch: 1n,
        members: [create(RelayMemberSchema, { id: "relay-v", url: relay.url })],
        relayToken: await keys.relayToken(agentId),
      }),
    );
    const at = { host: vnc.host, port: vnc.port };
    links.sessionsChanged(
      new Map([
        ["busy", at],
        ["calm", at],
      ]),
    );
    await eventually(() => assert.equal(relay.registry.sessions, 2));
  });

  after(async () => {
    await links?.close();
    await relay?.close();
    await vnc?.stop();
  });

  it("refuses one viewer more than the limit with 4429 and the wait; the token stays good", async () => {
    const open: Viewer[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const v = new Viewer(url("busy", await keys.viewerToken("busy", agentId)));
      await v.opened;
      await v.waitFor(12);
      open.push(v);
    }
    const token = await keys.viewerToken("busy", agentId);
    const extra = new Viewer(url("busy", token));
    const refused = await extra.waitClosed();
    assert.equal(refused.code, 4429);
    assert.match(refused.reason, /already has 3 viewers.*retry in \d+ s/);

    // Another session is not affected by this one's crowd.
    const calm = new Viewer(url("calm", await keys.viewerToken("calm", agentId)));
    await calm.waitFor(12);
    calm.close();

    // A place frees up: the refused viewer's token still works.
    open.pop()?.close();
    await eventually(() => assert.equal(relay.metrics.connectionsActive, LIMIT - 1));
    const retry = new Viewer(url("busy", token));
    await retry.waitFor(12);
    assert.equal(retry.closed, undefined);
    retry.close();
    for (const v of open) v.close();
    await eventually(() => assert.equal(relay.metrics.connectionsActive, 0));
  });
});
