import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Migrator, NO_MIGRATIONS, sql } from "kysely";
import { migrateToLatest, urlFromParts } from "./database.ts";
import { migrations } from "./migrations/index.ts";
import { DEFAULT_TEMPLATES, seedDefaultTemplates } from "./seed.ts";
import { createTestDatabase } from "./test-database.ts";

const CORE_TABLES = [
  "agent_commands",
  "agents",
  "audit_log",
  "session_events",
  "sessions",
  "templates",
];

describe("migrations on Postgres", () => {
  test("create every core table, are idempotent, and roll back cleanly", async () => {
    await using t = await createTestDatabase({ migrate: false });
    await migrateToLatest(t.db);
    await migrateToLatest(t.db); // second run is a no-op
    const tables = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`.execute(
      t.db,
    );
    const names = tables.rows.map((r) => r.table_name);
    for (const n of CORE_TABLES) assert.ok(names.includes(n), `missing ${n}`);

    const idx = await sql<{
      indexname: string;
    }>`SELECT indexname FROM pg_indexes WHERE tablename = 'agent_commands'`.execute(t.db);
    assert.ok(idx.rows.some((r) => r.indexname === "agent_commands_agent_status_idx"));

    const migrator = new Migrator({
      db: t.db,
      provider: { getMigrations: async () => migrations },
    });
    const down = await migrator.migrateTo(NO_MIGRATIONS);
    assert.equal(down.error, undefined);
    const after = await sql<{ n: string }>`
      SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'sessions'`.execute(
      t.db,
    );
    assert.equal(Number(after.rows[0]?.n), 0);
  });

  test("constraints refuse impossible rows", async () => {
    await using t = await createTestDatabase();
    await assert.rejects(
      sql`INSERT INTO agents (id, platform, state) VALUES ('x', 'mainframe', 'online')`.execute(
        t.db,
      ),
      /check constraint/,
    );
    await assert.rejects(
      sql`INSERT INTO sessions (id, owner_id, state) VALUES (gen_random_uuid(), 'u', 'dancing')`.execute(
        t.db,
      ),
      /check constraint/,
    );
  });

  test("seed inserts the defaults once and never again", async () => {
    await using t = await createTestDatabase();
    assert.equal(await seedDefaultTemplates(t.db), DEFAULT_TEMPLATES.length);
    assert.equal(await seedDefaultTemplates(t.db), 0);
    const rows = await t.db
      .selectFrom("templates")
      .select(["name", "image", "command", "vnc_port", "platform"])
      .orderBy("name")
      .execute();
    assert.deepEqual(rows, [
      { name: "demo-desktop", image: "builtin:demo", command: [], vnc_port: 0, platform: "local" },
      {
        name: "desktop",
        image: "xvfb",
        command: ["streamspace-desktop"],
        vnc_port: 0,
        platform: "local",
      },
      {
        name: "web-browser",
        image: "xvfb",
        command: ["streamspace-browser"],
        vnc_port: 0,
        platform: "local",
      },
      { name: "xterm-desktop", image: "xvfb", command: ["xterm"], vnc_port: 0, platform: "local" },
    ]);
  });

  test("0006 brings the desktop templates to an install that has templates, once", async () => {
    await using t = await createTestDatabase({ migrate: false });
    const migrator = new Migrator({
      db: t.db,
      provider: { getMigrations: async () => migrations },
    });
    assert.equal((await migrator.migrateTo("0005-audit-calls")).error, undefined);
    await sql`INSERT INTO templates (id, name, display_name, image, command)
      VALUES (gen_random_uuid(), 'xterm-desktop', 'xterm on Xvfb', 'xvfb', '["xterm"]'),
             (gen_random_uuid(), 'desktop', 'My own desktop', 'my-image', '[]')`.execute(t.db);
    assert.equal((await migrator.migrateToLatest()).error, undefined);
    const rows = await t.db
      .selectFrom("templates")
      .select(["name", "display_name", "env"])
      .orderBy("name")
      .execute();
    assert.deepEqual(rows, [
      { name: "desktop", display_name: "My own desktop", env: {} },
      {
        name: "web-browser",
        display_name: "Web browser",
        env: { SS_BROWSER_URL: "https://www.debian.org/" },
      },
      { name: "xterm-desktop", display_name: "Terminal", env: { SS_WINDOW_MANAGER: "openbox" } },
    ]);
    await using fresh = await createTestDatabase();
    const none = await fresh.db.selectFrom("templates").select("name").execute();
    assert.deepEqual(none, [], "a fresh install is left to the seed");
  });

  test("DB_* parts build a URL; none means PGlite", () => {
    assert.equal(
      urlFromParts({
        DB_HOST: "db",
        DB_PORT: "5433",
        DB_NAME: "ss",
        DB_USER: "u",
        DB_PASSWORD: "p@ss",
      }),
      "postgres://u:p%40ss@db:5433/ss",
    );
    assert.equal(urlFromParts({}), undefined);
  });
});
