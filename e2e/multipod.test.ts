/**
 * Three control-plane processes on one Postgres and one Redis, 100 simulated
 * agents (real gRPC streams) spread over them, sessions created through random pods.
 *  - SIGKILL one pod mid-stream: every agent it held comes back on another pod, every command
 *    completes exactly once (agent-side dedupe counted), no session is lost;
 *  - restart Redis mid-stream: the same guarantees, with no agent reconnect needed; sessions
 *    keep being created while Redis is down.
 * How fast the agents come back is a benchmark (bench/control-plane/pod-kill-recovery.ts), not
 * an assertion: the waits here are hang guards sized for a busy machine.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startRedis } from "../scripts/services.ts";
import { HANG, startWorld as start, within } from "./multipod-world.ts";

const t0 = Date.now();
const step = (m: string) =>
  console.error(`[multipod +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const postgresUrl = process.env.TEST_POSTGRES_URL;
if (!postgresUrl) throw new Error("TEST_POSTGRES_URL is not set: run through scripts/test.ts.");
const startWorld = (redisUrl: string) =>
  start({ postgresUrl: postgresUrl as string, redisUrl, agents: 100, step });

describe("multi-pod control plane", { timeout: 10 * 60_000 }, () => {
  test("SIGKILL a pod mid-stream: agents move to other pods, commands exactly once, no session lost", async () => {
    await using redis = await startRedis();
    await using w = await startWorld(redis.url);
    const creating = w.createSessions(300, 12);
    step("creating");
    await within(async () => {
      const r = await w.db.query("SELECT count(*)::int AS n FROM sessions");
      assert.ok(r.rows[0].n >= 60);
    }, HANG);
    step("killing pod-1");
    const victims = w.agents.filter((a) => a.pod === "pod-1");
    assert.ok(victims.length >= 20, `pod-1 held ${victims.length} agents`);
    const killAt = Date.now();
    await w.cluster.kill(1);
    const created = await creating;
    step(`created ${created.length} sessions`);
    const back = await within(() => {
      return victims.map((a) => {
        const w2 = a.welcomes.find((x) => x.at > killAt);
        assert.ok(w2, `${a.id} never came back`);
        return { pod: w2.pod, ms: w2.at - killAt };
      });
    }, HANG);
    const worst = Math.max(...back.map((b) => b.ms));
    assert.ok(back.every((b) => b.pod !== "pod-1"));
    const done = await w.assertAllDone(created, w.cluster);
    console.error(
      `kill: ${victims.length} agents moved, slowest ${worst} ms; ${done.commands} commands, ${done.redeliveries} deduped redeliveries`,
    );
  });

  test("Redis restart mid-stream: commands exactly once, no session lost, routes heal", async () => {
    let redis = await startRedis();
    const port = redis.port;
    try {
      await using w = await startWorld(redis.url);
      const creating = w.createSessions(200, 8);
      await within(async () => {
        const r = await w.db.query("SELECT count(*)::int AS n FROM sessions");
        assert.ok(r.rows[0].n >= 40);
      }, HANG);
      await redis.stop();
      const degraded = await within(async () => {
        const r = await fetch(`${w.cluster.pods[0]?.url}/ready`);
        const body = (await r.json()) as { degraded: boolean };
        assert.equal(body.degraded, true);
        return r.status;
      }, HANG);
      assert.equal(degraded, 200, "a pod without Redis stays ready (degraded)");
      // Creates keep working with Redis down: these are accepted while it is away, and their
      // commands must still run exactly once once it is back.
      const duringOutage = await w.createSessions(10, 2);
      assert.equal(duringOutage.filter(Boolean).length, 10, "sessions created with Redis down");
      redis = await startRedis({ port });
      const created = [...(await creating), ...duringOutage];
      const done = await w.assertAllDone(created, w.cluster);
      await within(async () => {
        for (const p of w.cluster.pods) {
          const body = (await (await fetch(`${p.url}/ready`)).json()) as { degraded: boolean };
          assert.equal(body.degraded, false);
        }
      }, HANG);
      console.error(
        `redis restart: ${done.commands} commands, ${done.redeliveries} deduped redeliveries`,
      );
    } finally {
      await redis.stop();
    }
  });
});
