import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  addAgent,
  addTemplate,
  type CoreFixture,
  createCoreFixture,
  who,
} from "../store/test-kit.ts";
import { DomainError } from "./errors.ts";

describe("scheduling", () => {
  let f: CoreFixture;
  before(async () => {
    f = await createCoreFixture({ poolSize: 30 });
  });
  after(async () => f[Symbol.asyncDispose]());

  test("200 concurrent creates against capacity 100: exactly 100 scheduled, 100 resource_exhausted", async () => {
    const caps = [10, 20, 30, 40];
    for (const [i, c] of caps.entries())
      await addAgent(f, { id: `cap-${i}`, maxSessions: c, region: "eu" });
    await addAgent(f, { id: "other-region", maxSessions: 50, region: "us" });
    await addTemplate(f, "burst", { region: "eu" });

    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        f.sessions.create(i % 2 ? who.alice : who.bob, { template: "burst" }),
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(ok.length, 100);
    assert.equal(failed.length, 100);
    for (const r of failed) {
      assert.ok(r.reason instanceof DomainError, String(r.reason));
      assert.equal(r.reason.code, "resource_exhausted");
      assert.equal(
        r.reason.message,
        "No agent has free capacity for template burst in region eu; 4 agents matched, all full. Try later or ask an operator to add capacity.",
      );
    }
    for (const [i, c] of caps.entries()) {
      const a = await f.store.agents.get(`cap-${i}`);
      assert.equal(a?.activeSessions, c, `agent cap-${i}`);
      const n = await f.tdb.db
        .selectFrom("sessions")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("agent_id", "=", `cap-${i}`)
        .executeTakeFirstOrThrow();
      assert.equal(Number(n.n), c);
    }
    assert.equal((await f.store.agents.get("other-region"))?.activeSessions, 0);
  });

  test("lowest active/capacity ratio wins; drained, offline and mismatched agents are skipped", async () => {
    await addAgent(f, {
      id: "k-big",
      maxSessions: 10,
      platform: "kubernetes",
      labels: { gpu: "yes" },
    });
    await addAgent(f, {
      id: "k-small",
      maxSessions: 2,
      platform: "kubernetes",
      labels: { gpu: "yes" },
    });
    await addAgent(f, { id: "k-nolabel", maxSessions: 100, platform: "kubernetes" });
    await addAgent(f, {
      id: "k-drain",
      maxSessions: 100,
      platform: "kubernetes",
      labels: { gpu: "yes" },
      state: "draining",
    });
    await addAgent(f, {
      id: "k-off",
      maxSessions: 100,
      platform: "kubernetes",
      labels: { gpu: "yes" },
      state: "offline",
    });
    await addAgent(f, {
      id: "d-gpu",
      maxSessions: 100,
      platform: "docker",
      labels: { gpu: "yes" },
    });
    await addTemplate(f, "gpu", { platform: "kubernetes", requiredLabels: { gpu: "yes" } });
    const placed: string[] = [];
    for (let i = 0; i < 6; i++)
      placed.push((await f.sessions.create(who.alice, { template: "gpu" })).agentId);
    // Ratios: big 0/10 → small 0/2 tie broken by id ... each pick takes the lowest ratio.
    const counts = Object.fromEntries(
      ["k-big", "k-small"].map((id) => [id, placed.filter((p) => p === id).length]),
    );
    assert.deepEqual(counts, { "k-big": 5, "k-small": 1 });
    assert.ok(placed.every((p) => p === "k-big" || p === "k-small"));
  });

  test("no matching agent at all says so", async () => {
    await addTemplate(f, "nowhere", { region: "mars" });
    await assert.rejects(
      f.sessions.create(who.alice, { template: "nowhere" }),
      (e: unknown) =>
        e instanceof DomainError &&
        e.code === "failed_precondition" &&
        /No online agent matches template nowhere \(platform any, region mars\)/.test(e.message),
    );
  });

  test("an agent whose heartbeats report a platform problem is passed over, and the refusal passes its words on", async () => {
    await addAgent(f, { id: "engine-down", maxSessions: 5, region: "dock" });
    await addTemplate(f, "dock", { region: "dock" });
    const beat = (platformProblem: string) =>
      f.registry.recordHeartbeats([
        {
          agentId: "engine-down",
          capacity: undefined,
          at: new Date(),
          pod: "pod-test",
          platformProblem,
        },
      ]);
    await beat("the Docker engine at unix:///run/podman.sock does not answer");
    assert.match(
      (await f.store.agents.get("engine-down"))?.platformProblem ?? "",
      /does not answer/,
    );
    await assert.rejects(
      f.sessions.create(who.alice, { template: "dock" }),
      (e: unknown) =>
        e instanceof DomainError &&
        e.code === "unavailable" &&
        /1 matching agents report a platform problem \(the Docker engine at unix:\/\/\/run\/podman\.sock does not answer\)/.test(
          e.message,
        ),
    );
    assert.equal((await f.store.agents.get("engine-down"))?.activeSessions, 0, "no slot taken");
    await beat("");
    const s = await f.sessions.create(who.alice, { template: "dock" });
    assert.equal(s.agentId, "engine-down");
  });

  test("request labels add to the template's constraints", async () => {
    await addAgent(f, { id: "zone-a", maxSessions: 5, region: "lab", labels: { zone: "a" } });
    await addAgent(f, { id: "zone-b", maxSessions: 5, region: "lab", labels: { zone: "b" } });
    await addTemplate(f, "lab", { region: "lab" });
    const s = await f.sessions.create(who.alice, { template: "lab", labels: { zone: "b" } });
    assert.equal(s.agentId, "zone-b");
  });
});
