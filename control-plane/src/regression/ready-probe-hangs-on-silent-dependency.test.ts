/**
 * Found by the chaos suite's network partition: while a pod was cut off, its database and Redis
 * sockets went silent (not closed), the readiness checks never settled, and `/ready` did not
 * answer at all, even after the partition healed; a probe that hangs tells an orchestrator
 * nothing. Each check now has a deadline: the probe answers, not ready, naming the stuck part.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runChecks } from "../app/checks.ts";

describe("readiness with a dependency that never answers", () => {
  test("answers within the check deadline, saying which check is stuck", async () => {
    const never = () => new Promise<never>(() => {});
    const guard = new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000).unref());
    const got = await Promise.race([
      runChecks({ database: never, redis: async () => ({ ok: true }) }, 200),
      guard,
    ]);
    assert.notEqual(got, "hung", "runChecks never answered");
    assert.deepEqual(got, {
      database: { ok: false, detail: "no answer within 200 ms" },
      redis: { ok: true },
    });
  });
});
