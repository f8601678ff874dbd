import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DomainError } from "./errors.ts";
import { canTransition, isTerminal, TRANSITIONS, targetOf } from "./session-state.ts";
import { SESSION_STATES, type SessionState } from "./types.ts";

// The expected table, written out independently of TRANSITIONS so a typo in either fails.
const ALLOWED = new Set([
  "pending>scheduled",
  "pending>stopped",
  "pending>failed",
  "scheduled>starting",
  "scheduled>running",
  "scheduled>stopping",
  "scheduled>failed",
  "starting>running",
  "starting>stopping",
  "starting>failed",
  "running>hibernating",
  "running>stopping",
  "running>failed",
  "hibernating>hibernated",
  "hibernating>stopping",
  "hibernating>failed",
  "hibernated>waking",
  "hibernated>stopping",
  "hibernated>failed",
  "waking>running",
  "waking>stopping",
  "waking>failed",
  "stopping>stopped",
  "stopping>failed",
  "failed>stopping",
]);

describe("session state machine", () => {
  for (const from of SESSION_STATES) {
    for (const to of SESSION_STATES) {
      const key = `${from}>${to}`;
      const allowed = ALLOWED.has(key);
      test(`${from} → ${to} is ${allowed ? "allowed" : "forbidden"}`, () => {
        assert.equal(canTransition(from, to), allowed);
      });
    }
  }

  test("the table has no entries beyond the expected set", () => {
    const n = Object.values(TRANSITIONS).reduce((a, v) => a + v.length, 0);
    assert.equal(n, ALLOWED.size);
  });

  test("failed is reachable from every non-final state", () => {
    for (const s of SESSION_STATES) {
      if (s === "stopped" || s === "failed") continue;
      assert.ok(canTransition(s, "failed"), s);
    }
  });

  test("terminal states are stopped and failed", () => {
    assert.deepEqual(SESSION_STATES.filter(isTerminal), [
      "stopped",
      "failed",
    ] satisfies SessionState[]);
  });
});

describe("operations", () => {
  test("hibernating a stopped session explains what is allowed", () => {
    assert.throws(
      () => targetOf("hibernate", "s-123", "stopped"),
      (e: unknown) =>
        e instanceof DomainError &&
        e.code === "failed_precondition" &&
        e.message === "Session s-123 is stopped; only running sessions can be hibernated.",
    );
  });

  test("waking a running session is refused", () => {
    assert.throws(
      () => targetOf("wake", "s-1", "running"),
      /Session s-1 is running; only hibernated sessions can be woken\./,
    );
  });

  test("operations lead to the matching in-between state", () => {
    assert.equal(targetOf("hibernate", "s", "running"), "hibernating");
    assert.equal(targetOf("wake", "s", "hibernated"), "waking");
    assert.equal(targetOf("stop", "s", "running"), "stopping");
    assert.equal(targetOf("stop", "s", "failed"), "stopping");
  });

  test("every operation's target is a legal transition from each allowed source", () => {
    for (const op of ["hibernate", "wake", "stop"] as const) {
      for (const from of SESSION_STATES) {
        let to: SessionState | undefined;
        try {
          to = targetOf(op, "s", from);
        } catch {
          continue;
        }
        assert.ok(canTransition(from, to), `${op}: ${from} → ${to}`);
      }
    }
  });
});
