import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, WAIT } from "@streamspace/common/testing";
import { sql } from "kysely";
import pg from "pg";
import { createDatabase } from "./database.ts";
import { createFreshDatabase } from "./test-database.ts";

/*
 * The deadlines and connection hygiene of deadline-pool.ts, on real Postgres. An uncaught
 * exception fails the running test (node:test), so "not the process" is asserted by the test
 * passing at all.
 */

let fresh: Awaited<ReturnType<typeof createFreshDatabase>>;
before(async () => {
  fresh = await createFreshDatabase();
});
after(async () => fresh?.[Symbol.asyncDispose]());

const show = async (queryTimeoutMs: number) => {
  const { db } = await createDatabase({ databaseUrl: fresh.url, poolSize: 1, queryTimeoutMs });
  try {
    const r = await sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(db);
    return r.rows[0]?.statement_timeout;
  } finally {
    await db.destroy();
  }
};

describe("the serving pool's deadlines", () => {
  test("the statement deadline is set on the serving pool, and none with 0 (migrations)", async () => {
    assert.equal(await show(1_500), "1500ms");
    assert.equal(await show(0), "0");
  });

  test("a statement past the deadline is cancelled by the server; the connection stays usable", async () => {
    const { db } = await createDatabase({
      databaseUrl: fresh.url,
      poolSize: 1,
      queryTimeoutMs: 300,
    });
    try {
      await assert.rejects(sql`SELECT pg_sleep(${WAIT.medium / 1000})`.execute(db), {
        code: "57014",
      });
      const pid = async () =>
        (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]?.pid;
      const first = await pid();
      assert.equal(await pid(), first, "the one pooled connection was kept");
    } finally {
      await db.destroy();
    }
  });

  test("a connection terminated under a running query fails that query; the next gets a new one", async () => {
    const { db } = await createDatabase({ databaseUrl: fresh.url, poolSize: 1 });
    const admin = new pg.Client({ connectionString: fresh.url });
    await admin.connect();
    try {
      const pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]
        ?.pid;
      const sleeping = sql`SELECT pg_sleep(${WAIT.medium / 1000})`.execute(db);
      const outcome = sleeping.then(
        () => undefined,
        (err: unknown) => err,
      );
      await eventually(async () => {
        const r = await admin.query(
          "SELECT pg_terminate_backend($1) AS killed FROM pg_stat_activity WHERE pid = $1 AND state = 'active'",
          [pid],
        );
        assert.equal(r.rows[0]?.killed, true, "the backend is running the query");
      });
      assert.ok((await outcome) instanceof Error, "the running query failed");
      // The pool replaced the dead connection: the next query runs on a new backend.
      const next = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]
        ?.pid;
      assert.notEqual(next, pid);
    } finally {
      await admin.end();
      await db.destroy();
    }
  });

  test("a connection that dies between two statements of a transaction fails the transaction, not the process", async () => {
    const { db } = await createDatabase({ databaseUrl: fresh.url, poolSize: 1 });
    const admin = new pg.Client({ connectionString: fresh.url });
    await admin.connect();
    try {
      const failed = await db
        .transaction()
        .execute(async (trx) => {
          const pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx))
            .rows[0]?.pid;
          await admin.query("SELECT pg_terminate_backend($1)", [pid]);
          // The client is lent out and idle while its connection closes: pg emits "error" on
          // it, which must reach this transaction rather than the process.
          await new Promise((r) => setTimeout(r, 200));
          await sql`SELECT 1`.execute(trx);
        })
        .then(
          () => false,
          () => true,
        );
      assert.equal(failed, true, "the transaction failed");
      assert.equal((await sql<{ one: number }>`SELECT 1 AS one`.execute(db)).rows[0]?.one, 1);
    } finally {
      await admin.end();
      await db.destroy();
    }
  });
});
