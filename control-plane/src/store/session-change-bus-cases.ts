/**
 * The behaviour suite every SessionChangeBus passes (memory for one pod, Redis for many), run
 * as WatchSessions sees it: watchers on several pods, changes published on one of them.
 * `makeNetwork()` hands out buses that share one backend; the memory network gives every pod
 * the same bus, which is what one pod is. A backend may carry other tests' changes too, so
 * every watcher here listens only to the session ids its case made.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { eventually } from "@streamspace/common/testing";
import type { SessionChange, SessionChangeBus } from "../domain/ports.ts";
import type { Session } from "../domain/types.ts";

/** Buses of several pods over one backend; disposing closes them all. */
export interface BusNetwork extends AsyncDisposable {
  /** The bus of `pod`, ready to publish and to hear other pods. */
  bus(pod: string): Promise<SessionChangeBus>;
}

const session = (id: string, version: number): Session => ({
  id,
  ownerId: "u-alice",
  templateId: randomUUID(),
  agentId: "agent-1",
  state: "running",
  stateReason: "the agent started it",
  version,
  displayName: "desktop",
  resources: { cpuMillis: 500n, memoryBytes: 1n << 29n },
  vncEndpoint: "",
  holdsCapacity: false,
  deleteRequested: false,
  createTime: new Date(1_700_000_000_000),
  updateTime: new Date(1_700_000_000_500),
});

/** What watchers read of a change (the fields WatchSessions carries across pods). */
const seen = (c: SessionChange) => ({
  id: c.session.id,
  ownerId: c.session.ownerId,
  templateId: c.session.templateId,
  agentId: c.session.agentId,
  state: c.session.state,
  stateReason: c.session.stateReason,
  version: c.session.version,
  displayName: c.session.displayName,
  resources: c.session.resources,
  createTime: c.session.createTime.getTime(),
  updateTime: c.session.updateTime.getTime(),
  deleted: c.deleted,
});

/** Subscribes a recorder that keeps only changes of the given sessions. */
function watch(bus: SessionChangeBus, ids: Set<string>) {
  const got: SessionChange[] = [];
  const unsubscribe = bus.subscribe((c) => {
    if (ids.has(c.session.id)) got.push(c);
  });
  return { got, unsubscribe, of: (id: string) => got.filter((c) => c.session.id === id) };
}

/** Registers the suite under `name`. */
export function runSessionChangeBusCases(
  name: string,
  makeNetwork: () => Promise<BusNetwork>,
): void {
  describe(`SessionChangeBus behaviour: ${name}`, () => {
    test("a change reaches every watcher on every pod once, with what watchers read", async () => {
      await using net = await makeNetwork();
      const a = await net.bus("a");
      const b = await net.bus("b");
      const [x, z, fromA, fromB] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const ids = new Set<string>([x, z, fromA, fromB]);
      const watchers = [watch(a, ids), watch(a, ids), watch(b, ids)];
      const changeX = { session: session(x, 2), deleted: false };
      const changeZ = { session: session(z, 5), deleted: true };
      a.publish(changeX);
      b.publish(changeZ);
      await eventually(() => {
        for (const w of watchers) assert.equal(w.of(x).length + w.of(z).length, 2);
      });
      // Later changes from both pods come after any late copy of the first ones.
      a.publish({ session: session(fromA, 1), deleted: false });
      b.publish({ session: session(fromB, 1), deleted: false });
      await eventually(() => {
        for (const w of watchers) assert.equal(w.of(fromA).length + w.of(fromB).length, 2);
      });
      for (const w of watchers) {
        assert.deepEqual(w.of(x).map(seen), [seen(changeX)]);
        assert.deepEqual(w.of(z).map(seen), [seen(changeZ)]);
      }
    });

    test("changes from one pod arrive in the order they were published", async () => {
      await using net = await makeNetwork();
      const a = await net.bus("a");
      const b = await net.bus("b");
      const id = randomUUID();
      const here = watch(a, new Set<string>([id]));
      const there = watch(b, new Set<string>([id]));
      for (let v = 1; v <= 5; v++) a.publish({ session: session(id, v), deleted: v === 5 });
      await eventually(() => assert.equal(there.got.length, 5));
      for (const w of [here, there]) {
        assert.deepEqual(
          w.got.map((c) => [c.session.version, c.deleted]),
          [
            [1, false],
            [2, false],
            [3, false],
            [4, false],
            [5, true],
          ],
        );
      }
    });

    test("a watcher that throws does not stop the others; an unsubscribed one hears nothing more", async () => {
      await using net = await makeNetwork();
      const a = await net.bus("a");
      const b = await net.bus("b");
      const [first, second] = [randomUUID(), randomUUID()];
      const ids = new Set<string>([first, second]);
      b.subscribe((c) => {
        if (ids.has(c.session.id)) throw new Error("a broken watcher");
      });
      const steady = watch(b, ids);
      const leaving = watch(b, ids);
      a.publish({ session: session(first, 1), deleted: false });
      await eventually(() => assert.equal(steady.got.length, 1));
      assert.equal(leaving.got.length, 1);
      leaving.unsubscribe();
      a.publish({ session: session(second, 1), deleted: false });
      // One change reaches a pod's watchers in one pass: once `steady` has it, so would `leaving`.
      await eventually(() => assert.equal(steady.got.length, 2));
      assert.deepEqual(
        leaving.got.map((c) => c.session.id),
        [first],
      );
    });
  });
}
