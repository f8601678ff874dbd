import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FileLeaseBackend } from "./file-lease-backend.ts";
import { openLeaseBackend } from "./open-lease-backend.ts";
import { RedisLeaseBackend } from "./redis-lease-backend.ts";

test("HA_BACKEND selects the lease backend", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ss-open-lease-"));
  try {
    const cfg = { agentId: "a-1", leaseFile: join(dir, "lease") };
    const file = openLeaseBackend({ ...cfg, backend: "file" });
    assert.ok(file instanceof FileLeaseBackend);
    await file.close();
    const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;
    assert.ok(redisUrl, "run through scripts/test.ts, which starts Redis");
    const redis = openLeaseBackend({ ...cfg, backend: "redis", redisUrl });
    assert.ok(redis instanceof RedisLeaseBackend);
    await redis.close();
    assert.throws(() => openLeaseBackend({ ...cfg, backend: "redis" }), /REDIS_URL/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
