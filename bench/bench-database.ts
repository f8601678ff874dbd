/**
 * A fresh database on a benchmark's throwaway Postgres server, so each run starts from empty
 * tables whatever ran on that server before.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** Creates `<prefix>_<random>` on the server `serverUrl` names; returns the new database's URL. */
export async function createBenchDatabase(serverUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
