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
import { createRelayRing } from "@streamspace/common/relay-ring";
import { eventually, sha, type Viewer, WAIT } from "./relay-fixtures.ts";
import { startRelayTier } from "./relay-tier.ts";

const SESSIONS = Array.from({ length: 50 }, (_, i) => `sess-${String(i).padStart(2, "0")}`);
/** How long a reconnect may take before it counts as hung (not a speed target). */
const HANG_MS = 120_000;

describe("relay tier behind HAProxy", { timeout: 10 * 60_000 }, () => {
  it("relays 50 sessions intact, survives a relay SIGKILL and a relay join", async (t) => {
    await using tier = await startRelayTier({
      relays: 3,
      spareRelaySlots: 1,
      sessions: SESSIONS,
      logDir: process.env.RELAY_E2E_LOGS,
    });
    const { cluster, ringSource, preamble, sessionsOn, open, exchange } = tier;
    const viewers = new Map<string, Viewer>();
    t.after(() => {
      for (const v of viewers.values()) v.close();
    });

    // 1. 50 viewers, every byte intact both ways.
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
        const got = await v.waitFor(preamble.length, WAIT.long);
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
    await victim.kill("SIGKILL");
    await Promise.all(
      victimSessions.map(async (sid) => {
        await viewers.get(sid)!.waitClosed(WAIT.long);
        viewers.set(sid, await tier.reconnect(sid, HANG_MS));
      }),
    );
    for (const sid of SESSIONS) {
      if (!victimSessions.includes(sid))
        assert.equal(viewers.get(sid)!.closed, undefined, `${sid} was interrupted`);
    }
    await Promise.all(SESSIONS.map((sid) => exchange(viewers.get(sid)!, sid, "r2")));

    // 3. Add a relay: exactly the sessions that now hash to it move; no viewer is cut.
    await eventually(() => assert.equal(ringSource.current().members.length, 2), {
      timeoutMs: WAIT.long,
    });
    const ring2 = createRelayRing(ringSource.current());
    const joined = await cluster.addRelay();
    await eventually(() => assert.equal(ringSource.current().members.length, 3), {
      timeoutMs: WAIT.long,
    });
    const ringNew = createRelayRing(ringSource.current());
    const moved = SESSIONS.filter((s) => ringNew.owner(s)!.id !== ring2.owner(s)!.id);
    assert.ok(
      moved.every((s) => ringNew.owner(s)!.id === joined.id),
      "only sessions hashing to the new relay move",
    );
    await eventually(
      async () => assert.deepEqual(await sessionsOn(joined.url), [...moved].sort()),
      {
        timeoutMs: WAIT.long,
      },
    );
    for (const r of cluster.relays.filter((r) => r.id !== joined.id && r.id !== victim.id)) {
      const expected = SESSIONS.filter((s) => ringNew.owner(s)!.id === r.id).sort();
      assert.deepEqual(await sessionsOn(r.url), expected, `${r.id} keeps its unmoved sessions`);
    }
    for (const [sid, v] of viewers) assert.equal(v.closed, undefined, `${sid} was cut by the join`);
    await Promise.all(SESSIONS.map((sid) => exchange(viewers.get(sid)!, sid, "r3")));
    // A new viewer of a moved session lands on the new relay.
    if (moved[0]) {
      const v = await open(moved[0]);
      await v.waitFor(preamble.length, WAIT.long);
      const m = await (await fetch(`${joined.url}/metrics`)).text();
      assert.match(m, /streamspace_vnc_connections_total\{relay="relay-4"\} [1-9]/);
      v.close();
    }
  });
});
