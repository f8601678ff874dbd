import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { startRedis, waitForPort } from "./services.ts";

test("startRedis serves PING and frees its port on stop", async () => {
  const redis = await startRedis();
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
