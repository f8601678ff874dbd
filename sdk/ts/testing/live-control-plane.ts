/**
 * A live control plane for the SDK tests of every language: the repository's own launchers
 * (scripts/local-system.ts: control plane, relay and local agent as child processes) on a
 * fresh database in real Postgres (the test run's server when TEST_POSTGRES_URL is set, else a
 * throwaway one from scripts/services.ts). Never a mock: the SDKs talk to what ships.
 *
 * From TypeScript: `await using cp = await startLiveControlPlane()`.
 * From Go, Python and the grpcurl recipes, as a command run from the repository root:
 *
 *   node --import tsx sdk/ts/testing/live-control-plane.ts
 *
 * prints one JSON line ({"url", "address", "username", "password"}) on stdout once an agent
 * is connected, and stops everything when its stdin closes or it gets SIGTERM/SIGINT.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePorts, startLocalSystem } from "../../../scripts/local-system.ts";
import { type Service, startPostgres } from "../../../scripts/services.ts";

export interface LiveControlPlane extends AsyncDisposable {
  /** Base URL for SDKs, e.g. http://127.0.0.1:41234. */
  url: string;
  /** host:port, as grpcurl and ghz take it. */
  address: string;
  username: string;
  password: string;
  /** The last lines the processes logged, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

/** A new empty database on the server at `serverUrl`, dropped by the returned function. */
async function freshDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sdk_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await c.end();
    },
  };
}

/** Starts Postgres (or a database on the test run's), control plane, relay and agent. */
export async function startLiveControlPlane(): Promise<LiveControlPlane> {
  const logs: string[] = [];
  const output = (name: string, line: string) => {
    logs.push(`${name}: ${line}`);
    if (logs.length > 400) logs.splice(0, logs.length - 400);
  };
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    let server = process.env.TEST_POSTGRES_URL;
    if (!server) {
      const own: Service = await startPostgres();
      cleanups.push(() => own.stop());
      server = own.url;
    }
    const db = await freshDatabase(server);
    cleanups.push(() => db.drop());
    const dataDir = mkdtempSync(join(tmpdir(), "ss-sdk-"));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const system = await startLocalSystem({
      dataDir,
      output,
      ...(await freePorts()),
      env: { DATABASE_URL: db.url },
    });
    // The agent stops its desktops on SIGTERM; give it the launcher's full grace period, since
    // a SIGKILL before it finishes would leave desktop processes behind.
    cleanups.push(() => system.stop());
    return {
      url: system.url,
      address: new URL(system.url).host,
      username: system.username,
      password: system.password,
      logs: () => logs.slice(-80).join("\n"),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw new Error(`the live control plane did not start:\n${logs.slice(-60).join("\n")}`, {
      cause: err,
    });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cp = await startLiveControlPlane();
  const { url, address, username, password } = cp;
  process.stdout.write(`${JSON.stringify({ url, address, username, password })}\n`);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await cp.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  process.stdin.on("end", () => void shutdown());
  process.stdin.on("close", () => void shutdown());
  process.stdin.resume();
}
