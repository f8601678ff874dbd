import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matchesFilter, newer, putInList } from "./session-cache.ts";

const snap = (id: string, version: number, state: string) => ({ id, version, state });

describe("session cache ordering", () => {
  it("keeps a later event when an earlier mutation reply lands after it", () => {
    const event = snap("a", 7, "hibernated");
    const reply = snap("a", 6, "hibernating");
    assert.equal(newer(event, reply), event);
    assert.equal(newer(reply, event), event);
    assert.equal(newer(undefined, reply), reply);
  });

  it("takes the later read on a tie", () => {
    const first = snap("a", 3, "running");
    const second = snap("a", 3, "running");
    assert.equal(newer(first, second), second);
  });

  it("puts, replaces only with newer versions, and deletes", () => {
    const list = [snap("a", 2, "running"), snap("b", 1, "running")];
    assert.deepEqual(
      putInList(list, snap("c", 1, "pending"), false).map((x) => x.id),
      ["c", "a", "b"],
    );
    assert.equal(putInList(list, snap("a", 1, "starting"), false), list);
    assert.equal(putInList(list, snap("a", 3, "hibernating"), false)[0]?.state, "hibernating");
    assert.deepEqual(
      putInList(list, snap("a", 9, "stopped"), true).map((x) => x.id),
      ["b"],
    );
  });
});

describe("list filters", () => {
  const s = { state: "stopped", agentId: "a1", ownerId: "u1", templateId: "t1" };
  it("keeps a session only in the lists whose filter it matches", () => {
    assert.equal(matchesFilter(undefined, s), true);
    assert.equal(matchesFilter({ states: ["running", "starting"] }, s), false);
    assert.equal(matchesFilter({ states: ["stopped", "failed"] }, s), true);
    assert.equal(matchesFilter({ agentId: "a2" }, s), false);
    assert.equal(matchesFilter({ ownerId: "u1", agentId: "" }, s), true);
    assert.equal(matchesFilter({ templateId: "t9" }, s), false);
  });
});
