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
import type { Session } from "./types.ts";

describe("ListSessions paging and filters", () => {
  let f: CoreFixture;
  let t1: string;
  let t2: string;
  before(async () => {
    f = await createCoreFixture();
    await addAgent(f, { id: "a1", maxSessions: 1000 });
    await addAgent(f, { id: "a2", maxSessions: 1000 });
    t1 = (await addTemplate(f, "one")).id;
    t2 = (await addTemplate(f, "two")).id;
    for (let i = 0; i < 30; i++)
      await f.sessions.create(i % 3 ? who.alice : who.bob, { template: i % 2 ? "one" : "two" });
    // Same create_time for many rows, to the microsecond: the id must break ties exactly.
    await f.tdb.exec(
      "UPDATE sessions SET create_time = '2030-01-01 00:00:00.123456+00' WHERE owner_id = 'u-bob'",
    );
  });
  after(async () => f[Symbol.asyncDispose]());

  async function all(principal = who.operator, input: Record<string, unknown> = {}, pageSize = 7) {
    const out: Session[] = [];
    let token = "";
    let pages = 0;
    do {
      const p = await f.sessions.list(principal, { ...input, pageSize, pageToken: token });
      assert.ok(p.sessions.length <= pageSize);
      out.push(...p.sessions);
      token = p.nextPageToken;
      pages++;
      assert.ok(pages < 100, "paging must terminate");
    } while (token);
    return out;
  }

  test("walks every row exactly once, newest first, across equal timestamps", async () => {
    const rows = await all();
    assert.equal(rows.length, 30);
    assert.equal(new Set(rows.map((r) => r.id)).size, 30);
    for (let i = 1; i < rows.length; i++) {
      const [a, b] = [rows[i - 1] as Session, rows[i] as Session];
      assert.ok(a.createTime >= b.createTime);
    }
  });

  test("filters by owner, agent, template and state", async () => {
    assert.equal((await all(who.operator, { ownerId: "u-bob" })).length, 10);
    assert.ok((await all(who.operator, { templateId: t1 })).every((s) => s.templateId === t1));
    assert.equal(
      (await all(who.operator, { templateId: t1 })).length +
        (await all(who.operator, { templateId: t2 })).length,
      30,
    );
    const onA1 = await all(who.operator, { agentId: "a1" });
    assert.ok(onA1.every((s) => s.agentId === "a1"));
    assert.equal(onA1.length + (await all(who.operator, { agentId: "a2" })).length, 30);
    assert.equal((await all(who.operator, { states: ["scheduled"] })).length, 30);
    assert.equal((await all(who.operator, { states: ["running", "stopped"] })).length, 0);
  });

  test("a user's list is confined to their own sessions", async () => {
    const mine = await all(who.alice, {}, 4);
    assert.equal(mine.length, 20);
    assert.ok(mine.every((s) => s.ownerId === "u-alice"));
  });

  test("mine narrows an operator's list to their own; it contradicts a foreign owner_id", async () => {
    assert.equal((await all(who.operator, { mine: true })).length, 0);
    assert.equal((await all(who.alice, { mine: true }, 5)).length, 20);
    await assert.rejects(
      f.sessions.list(who.operator, { mine: true, ownerId: "u-bob" }),
      (e: unknown) => e instanceof DomainError && e.code === "invalid_argument",
    );
  });

  test("bad paging input is invalid_argument with a fix", async () => {
    const bad = async (input: Record<string, unknown>, re: RegExp) =>
      assert.rejects(f.sessions.list(who.operator, input), (e: unknown) => {
        assert.ok(e instanceof DomainError);
        assert.equal(e.code, "invalid_argument");
        assert.match(e.message, re);
        return true;
      });
    await bad({ pageSize: 10000 }, /^page_size: must be between 0 and 500 \(0 means 50\)\.$/);
    await bad({ pageSize: -1 }, /^page_size: /);
    await bad({ pageToken: "garbage!!" }, /^page_token: is not a token this server issued/);
    await bad(
      { pageToken: Buffer.from("s\nnot a time\nx").toString("base64url") },
      /^page_token: /,
    );
    await bad({ pageToken: Buffer.from("t\nname").toString("base64url") }, /^page_token: /);
    await bad({ states: ["sleeping"] }, /^states\.0: /);
    await bad({ templateId: "not-a-uuid" }, /^template_id: must be a template id/);
    await bad({ agentId: "bad agent id" }, /^agent_id: /);
  });
});
