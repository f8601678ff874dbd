/**
 * Correctness without the balancer: a viewer that reaches a relay which does not own its
 * session is forwarded to the owner (bytes intact, close codes end to end), and when the owner
 * is gone both the relay and the agent fall back to the next rendezvous choice at once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createRelayRing } from "@streamspace/common/relay-ring";
import {
  RelayMemberSchema,
  RelayRingSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { createRelayLinks } from "../agents/src/relay/index.ts";
import type { RelayConfig } from "../dataplane/src/config.ts";
import { type RelayServer, startRelayServer } from "../dataplane/src/relay-server.ts";
import { freePort } from "../scripts/services.ts";
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
const AGENT = "agent-f";

describe("relay forwarding", () => {
  let keys: Awaited<ReturnType<typeof createTestKeys>>;
  let vnc: Awaited<ReturnType<typeof startRfbStandIn>>;
  const relays: RelayServer[] = [];
  let links: ReturnType<typeof createRelayLinks>;
  let members: { id: string; url: string }[];
  let sid: string;

  before(async () => {
    keys = await createTestKeys();
    vnc = await startRfbStandIn(8 * 1024);
    const ports = [await freePort(), await freePort()];
    members = ports.map((p, i) => ({ id: `r${i + 1}`, url: `http://127.0.0.1:${p}` }));
    for (const [i, port] of ports.entries()) {
      const config: RelayConfig = {
        port,
        host: "127.0.0.1",
        relayId: members[i]!.id,
        publicUrl: members[i]!.url,
        staticMembers: members,
        membershipTtlMs: 5000,
        viewerJwks: keys.jwks,
        idleTimeoutMs: 60_000,
        tunnelSetupTimeoutMs: 3000,
        logLevel: "warn",
        debugToken: i === 0 ? "relay-debug-token-for-tests" : undefined,
      };
      relays.push(await startRelayServer(config, { log: quiet }));
    }
    const ring = createRelayRing({ epoch: 1n, members });
    sid = Array.from({ length: 100 }, (_, i) => `fw-${i}`).find((s) => ring.owner(s)!.id === "r2")!;
    links = createRelayLinks({ agentId: AGENT, log: quiet });
    links.updateRing(
      create(RelayRingSchema, {
        epoch: 1n,
        members: members.map((m) => create(RelayMemberSchema, m)),
        relayToken: await keys.relayToken(AGENT),
      }),
    );
    links.sessionsChanged(new Map([[sid, { host: vnc.host, port: vnc.port }]]));
    await eventually(() => assert.equal(relays[1]!.registry.sessions, 1));
  });

  after(async () => {
    await links?.close();
    for (const r of relays) await r.close();
    await vnc?.stop();
  });

  it("forwards a viewer from a non-owner to the owner, bytes intact", async () => {
    const v = new Viewer(
      `ws://127.0.0.1:${relays[0]!.port}/vnc/${sid}?token=${await keys.viewerToken(sid, AGENT)}`,
    );
    await v.opened;
    assert.equal(v.ws.protocol, "binary");
    const script = scriptedBytes("fw", 50_000);
    v.ws.send(script);
    const pre = Buffer.concat([RFB_GREETING, scriptedBytes("bulk", vnc.bulkBytes)]);
    const got = await v.waitFor(pre.length + script.length);
    assert.equal(sha(got), sha(Buffer.concat([pre, script])));
    assert.equal(relays[0]!.metrics.forwardedTotal, 1);
    assert.equal(relays[1]!.metrics.connectionsActive, 1);
    v.close();
  });

  it("refuses a bad token at the first relay instead of forwarding it", async () => {
    const before = relays[0]!.metrics.forwardedTotal;
    const good = await keys.viewerToken(sid, AGENT);
    const tampered = `${good.slice(0, -4)}AAAA`;
    for (const token of [tampered, "", await keys.viewerToken("another-session", AGENT)]) {
      const v = new Viewer(`ws://127.0.0.1:${relays[0]!.port}/vnc/${sid}?token=${token}`);
      const closed = await v.waitClosed();
      assert.equal(closed.code, 4401, `token ${JSON.stringify(token.slice(-8))}`);
    }
    assert.equal(relays[0]!.metrics.forwardedTotal, before, "nothing reached the owner");
    // The good token was only checked, not spent, on its way past: it still works once.
    const v = new Viewer(`ws://127.0.0.1:${relays[0]!.port}/vnc/${sid}?token=${good}`);
    await v.waitFor(RFB_GREETING.length);
    v.close();
  });

  it("guards /debug/sessions with its token, and has none without one", async () => {
    const debug = (port: number, auth?: string) =>
      fetch(`http://127.0.0.1:${port}/debug/sessions`, {
        headers: auth ? { authorization: auth } : {},
      });
    assert.equal((await debug(relays[0]!.port)).status, 401);
    assert.equal((await debug(relays[0]!.port, "Bearer wrong-token-wrong-token")).status, 401);
    const ok = await debug(relays[0]!.port, "Bearer relay-debug-token-for-tests");
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as { relay: string }).relay, "r1");
    assert.equal((await debug(relays[1]!.port, "Bearer anything")).status, 404);
  });

  it("passes the owner's close codes through the forward", async () => {
    const token = await keys.viewerToken(sid, AGENT);
    const first = new Viewer(`ws://127.0.0.1:${relays[0]!.port}/vnc/${sid}?token=${token}`);
    await first.opened;
    const again = new Viewer(`ws://127.0.0.1:${relays[0]!.port}/vnc/${sid}?token=${token}`);
    assert.equal((await again.waitClosed()).code, 4403);
    first.close();
  });

  it("serves locally when the owner is down, once the agent has moved the session", async () => {
    await relays[1]!.close();
    await eventually(() => assert.equal(relays[0]!.registry.sessions, 1));
    const v = new Viewer(
      `ws://127.0.0.1:${relays[0]!.port}/vnc/${sid}?token=${await keys.viewerToken(sid, AGENT)}`,
    );
    await v.waitFor(RFB_GREETING.length + vnc.bulkBytes);
    assert.equal(links.placement().get(sid), "r1");
    v.close();
  });
});
