/**
 * The relay tier scaled out (deploy/local): 3 relay processes behind HAProxy, real Redis
 * membership, the control plane's Redis ring source feeding an agent's createRelayLinks, 50
 * viewers on 50 sessions against a scripted RFB stand-in. Checks: every byte intact; SIGKILL
 * of one relay makes only its sessions' viewers reconnect (to the new owner) while the others
 * keep flowing; an added relay takes exactly the sessions that now hash to it. How fast the
 * viewers reconnect is a benchmark (bench/relay/relay-failover.ts), not an assertion here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createRelayRing } from "@streamspace/dataplane/ring";
import {
  RelayMemberSchema,
  RelayRingSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { createRelayLinks } from "../agents/src/relay/index.ts";
import type { RelayRingSnapshot } from "../control-plane/src/gateway/relay-ring-source.ts";
import { createRedisRelayRingSource } from "../control-plane/src/relay-ring/redis-relay-ring-source.ts";
import { startLocalCluster } from "../deploy/local/cluster.ts";
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

const quiet = { debug() {}, info() {}, warn() {} };
const SESSIONS = Array.from({ length: 50 }, (_, i) => `sess-${String(i).padStart(2, "0")}`);
const AGENT = "agent-e2e";
/** How long a reconnect may take before it counts as hung (not a speed target). */
const HANG_MS = 120_000;

async function sessionsOn(url: string, debugToken: string): Promise<string[]> {
  const res = await fetch(`${url}/debug/sessions`, {
    headers: { authorization: `Bearer ${debugToken}` },
  });
  return ((await res.json()) as { sessions: string[] }).sessions;
}

describe("relay tier behind HAProxy", { timeout: 10 * 60_000 }, () => {
  it("relays 50 sessions intact, survives a relay SIGKILL and a relay join", async (t) => {
    const keys = await createTestKeys();
    await using vnc = await startRfbStandIn(16 * 1024);
    await using cluster = await startLocalCluster({
      controlPlanes: 0,
      relays: 3,
      spareRelaySlots: 1,
      relayTtlMs: 1500,
      viewerJwks: keys.jwks,
      logDir: process.env.RELAY_E2E_LOGS,
      env: process.env.RELAY_E2E_LOGS ? { LOG_LEVEL: "debug" } : {},
    });
    const ringSource = await createRedisRelayRingSource({ url: cluster.redisUrl, pollMs: 100 });
    t.after(() => ringSource.close());
    const links = createRelayLinks({ agentId: AGENT, log: quiet });
    t.after(() => links.close());
    const relayToken = await keys.relayToken(AGENT);
    const push = (r: RelayRingSnapshot) =>
      links.updateRing(
        create(RelayRingSchema, {
          epoch: r.epoch,
          members: r.members.map((m) => create(RelayMemberSchema, m)),
          relayToken,
        }),
      );
    await eventually(() => assert.equal(ringSource.current().members.length, 3));
    push(ringSource.current());
    ringSource.subscribe(push);
    links.sessionsChanged(new Map(SESSIONS.map((s) => [s, { host: vnc.host, port: vnc.port }])));
    await eventually(async () => {
      const all = (
        await Promise.all(cluster.relays.map((r) => sessionsOn(r.url, cluster.relayDebugToken)))
      ).flat();
      assert.equal(all.length, SESSIONS.length);
    });

    const front = cluster.relayFrontUrl.replace("http", "ws");
    const open = async (sid: string) =>
      new Viewer(`${front}/vnc/${sid}?token=${await keys.viewerToken(sid, AGENT)}`);
    const preamble = Buffer.concat([RFB_GREETING, scriptedBytes("bulk", vnc.bulkBytes)]);
    const exchange = async (v: Viewer, sid: string, round: string) => {
      const start = v.received;
      const script = scriptedBytes(`${sid}-${round}`, 20_000);
      for (let off = 0; off < script.length; off += 4_000)
        v.ws.send(script.subarray(off, off + 4_000));
      const got = await v.waitFor(start + script.length, WAIT.medium);
      assert.equal(sha(got.subarray(start, start + script.length)), sha(script), `${sid} ${round}`);
    };

    // 1. 50 viewers, every byte intact both ways.
    const viewers = new Map<string, Viewer>();
    const dump = async () => {
      for (const r of cluster.relays) {
        const m = await (await fetch(`${r.url}/metrics`)).text();
        t.diagnostic(
          `${r.id}: ${m
            .split("\n")
            .filter((l) => /_total|active/.test(l) && !l.startsWith("#"))
            .join(" | ")}`,
        );
      }
      for (const [sid, v] of viewers)
        if (v.received < preamble.length)
          t.diagnostic(
            `${sid}: ${v.received} ${JSON.stringify(v.closed)} state=${v.ws.readyState}`,
          );
    };
    await Promise.all(
      SESSIONS.map(async (sid) => {
        const v = await open(sid);
        viewers.set(sid, v);
        const got = await v.waitFor(preamble.length);
        assert.equal(sha(got.subarray(0, preamble.length)), sha(preamble));
        await exchange(v, sid, "r1");
      }),
    ).catch(async (err) => {
      await dump();
      throw err;
    });
    const ring3 = createRelayRing(ringSource.current());
    const ownerBefore = new Map(SESSIONS.map((s) => [s, ring3.owner(s)!.id]));

    // 2. SIGKILL one relay: only its sessions' viewers drop, and they come back.
    const victim = cluster.relays.find((r) => r.id === "relay-2")!;
    const victimSessions = SESSIONS.filter((s) => ownerBefore.get(s) === victim.id);
    assert.ok(victimSessions.length > 5, "the victim owns a fair share");
    const killedAt = Date.now();
    await victim.kill("SIGKILL");
    const reconnectMs: number[] = [];
    await Promise.all(
      victimSessions.map(async (sid) => {
        const gone = await viewers.get(sid)!.waitClosed(WAIT.long);
        if (process.env.RELAY_E2E_LOGS)
          t.diagnostic(`${sid} old viewer closed +${gone.at - killedAt}ms code ${gone.code}`);
        for (;;) {
          const v = await open(sid);
          try {
            await v.waitFor(preamble.length, WAIT.medium);
            viewers.set(sid, v);
            reconnectMs.push(Date.now() - killedAt);
            return;
          } catch (err) {
            if (process.env.RELAY_E2E_LOGS)
              t.diagnostic(
                `${sid} +${Date.now() - killedAt}ms (opened +${v.createdAt - killedAt}, closed +${(v.closed?.at ?? 0) - killedAt}): ${err}`,
              );
            v.close();
            assert.ok(Date.now() - killedAt < HANG_MS, `${sid} could not reconnect`);
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      }),
    );
    t.diagnostic(
      `victim owned ${victimSessions.length} sessions; reconnect ms max ${Math.max(...reconnectMs)}`,
    );
    assert.equal(reconnectMs.length, victimSessions.length, "every victim viewer reconnected");
    for (const sid of SESSIONS) {
      if (!victimSessions.includes(sid))
        assert.equal(viewers.get(sid)!.closed, undefined, `${sid} was interrupted`);
    }
    await Promise.all(SESSIONS.map((sid) => exchange(viewers.get(sid)!, sid, "r2")));

    // 3. Add a relay: exactly the sessions that now hash to it move; no viewer is cut.
    await eventually(() => assert.equal(ringSource.current().members.length, 2), {
      timeoutMs: WAIT.medium,
    });
    const ring2 = createRelayRing(ringSource.current());
    const joined = await cluster.addRelay();
    await eventually(() => assert.equal(ringSource.current().members.length, 3), {
      timeoutMs: WAIT.medium,
    });
    const ringNew = createRelayRing(ringSource.current());
    const moved = SESSIONS.filter((s) => ringNew.owner(s)!.id !== ring2.owner(s)!.id);
    assert.ok(
      moved.every((s) => ringNew.owner(s)!.id === joined.id),
      "only sessions hashing to the new relay move",
    );
    await eventually(async () =>
      assert.deepEqual(await sessionsOn(joined.url, cluster.relayDebugToken), [...moved].sort()),
    );
    for (const r of cluster.relays.filter((r) => r.id !== joined.id && r.id !== victim.id)) {
      const expected = SESSIONS.filter((s) => ringNew.owner(s)!.id === r.id).sort();
      assert.deepEqual(
        await sessionsOn(r.url, cluster.relayDebugToken),
        expected,
        `${r.id} keeps its unmoved sessions`,
      );
    }
    for (const [sid, v] of viewers) assert.equal(v.closed, undefined, `${sid} was cut by the join`);
    await Promise.all(SESSIONS.map((sid) => exchange(viewers.get(sid)!, sid, "r3")));
    // A new viewer of a moved session lands on the new relay.
    if (moved[0]) {
      const v = await open(moved[0]);
      await v.waitFor(preamble.length);
      const m = await (await fetch(`${joined.url}/metrics`)).text();
      assert.match(m, /streamspace_vnc_connections_total\{relay="relay-4"\} [1-9]/);
      v.close();
    }
    for (const v of viewers.values()) v.close();
  });
});
