import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createDatabase, migrateToLatest } from "./database.ts";
import { createPgCore } from "./pg-core.ts";
import { seedDefaultTemplates } from "./seed.ts";
import { addAgent, who } from "./test-kit.ts";

test("PGlite runs the same migrations and the create/list/transition queries", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ss-pglite-"));
  const { db, kind } = await createDatabase({ dataDir: dir });
  try {
    assert.equal(kind, "pglite");
    await migrateToLatest(db);
    assert.equal(await seedDefaultTemplates(db), 4);
    const core = createPgCore(db);
    await addAgent(core, { id: "local-1", maxSessions: 2 });
    const s = await core.sessions.create(who.alice, { template: "demo-desktop" });
    assert.equal(s.state, "scheduled");
    const page = await core.sessions.list(who.alice, { pageSize: 1 });
    assert.equal(page.sessions[0]?.id, s.id);
    const second = await core.sessions.create(who.alice, { template: "xterm-desktop" });
    const p1 = await core.sessions.list(who.alice, { pageSize: 1 });
    const p2 = await core.sessions.list(who.alice, { pageSize: 1, pageToken: p1.nextPageToken });
    assert.deepEqual(new Set([p1.sessions[0]?.id, p2.sessions[0]?.id]), new Set([s.id, second.id]));
    await assert.rejects(core.sessions.create(who.alice, { template: "demo-desktop" }), /all full/);
    const stopping = await core.sessions.stop(who.alice, { id: s.id });
    assert.equal(stopping.state, "stopping");
    const cmds = await db
      .selectFrom("agent_commands")
      .select(["kind", "payload"])
      .orderBy("created_at")
      .execute();
    assert.deepEqual(
      cmds.map((c) => c.kind),
      ["start_session", "start_session", "stop_session"],
    );
    assert.ok(cmds[0]?.payload instanceof Uint8Array);
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
