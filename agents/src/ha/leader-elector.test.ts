import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLeaseTiming } from "./leader-elector.ts";

// Election over real backends runs in the shared suite (lease-backend-cases.ts), once per
// backend: file-lease-backend.test.ts, redis-lease-backend.test.ts. Clock-driven cases with
// production-sized timing are in leader-elector-clock.test.ts.

test("lease timing is validated with the variable names", () => {
  assert.throws(
    () => checkLeaseTiming({ leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 100 }),
    /LEASE_DURATION/,
  );
  assert.throws(
    () => checkLeaseTiming({ leaseDurationMs: 1000, renewDeadlineMs: 100, retryPeriodMs: 100 }),
    /RENEW_DEADLINE/,
  );
  assert.throws(
    () => checkLeaseTiming({ leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 0 }),
    /RETRY_PERIOD/,
  );
});
