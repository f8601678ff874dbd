import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { isAlive } from "./process-table.ts";
import { startPostgres, startRedis, waitForPort } from "./services.ts";

test("startRedis serves PING and frees its port on stop", async () => {
  await using redis = await startRedis();
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect(redis.port, "127.0.0.1", () => s.write("PING\r\n"));
    s.once("data", (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once("error", reject);
  });
  assert.equal(reply, "+PONG\r\n");
  await redis.stop();
  await assert.rejects(waitForPort(redis.port, 300), /nothing listens/);
});

test("startPostgres stops every process it started (the postmaster and its workers)", async () => {
  await using pg = await startPostgres();
  const pids = pg.pids();
  assert.ok(pids.length >= 1, "postgres runs");
  await pg.stop();
  for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} outlived stop()`);
  await assert.rejects(waitForPort(pg.port, 300), /nothing listens/);
});
