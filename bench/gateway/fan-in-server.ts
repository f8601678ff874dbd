/**
 * Starts the control-plane process the fan-in benchmark measures, the way production runs it
 * (`node --import tsx control-plane/src/main.ts`) or from a bundle of the same source (to tell
 * tsx's share of memory from the server's), with extra V8 flags if asked, and reads its memory
 * from inside through the inspector: `process.memoryUsage()` before and after a forced GC
 * tells live heap from garbage not yet collected and from memory outside the JS heap.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { WebSocket } from "ws";
import { bundleDeployables } from "../../scripts/bundle.ts";
import { createBenchDatabase } from "../bench-database.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** How the server runs: from TypeScript through tsx, or from an esbuild bundle. */
export type ServerMode = "tsx" | "bundle";

/** A running control plane plus a way to look inside it. */
export interface MeasuredServer extends AsyncDisposable {
  url: string;
  pid: number;
  bootstrapToken: string;
  rssMiB(): number;
  cpuSeconds(): number;
  /** process.memoryUsage() in MiB, optionally after a full GC. */
  memory(gc: boolean): Promise<Record<string, number>>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startMeasuredServer(opts: {
  postgresUrl: string;
  mode: ServerMode;
  nodeArgs: string[];
  env?: Record<string, string>;
}): Promise<MeasuredServer> {
  const databaseUrl = await createBenchDatabase(opts.postgresUrl, "fanin");
  const dbName = new URL(databaseUrl).pathname.slice(1);
  const port = await freePort();
  const bootstrapToken = randomBytes(9).toString("base64url");
  // "bundle" measures the shipped artifact itself (scripts/bundle.ts, control-plane/dist).
  const entry =
    opts.mode === "bundle"
      ? [(await bundleDeployables(["control-plane"]))["control-plane"]!]
      : ["--import", "tsx", "control-plane/src/main.ts"];
  const child: ChildProcess = spawn(
    process.execPath,
    ["--inspect=127.0.0.1:0", ...opts.nodeArgs, ...entry],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        HOST: "127.0.0.1",
        PORT: String(port),
        POD_NAME: "fan-in",
        DATABASE_URL: databaseUrl,
        AGENT_HUB_BACKEND: "memory",
        JWT_SECRET: randomBytes(32).toString("base64url"),
        ADMIN_PASSWORD: randomBytes(9).toString("base64url"),
        AGENT_BOOTSTRAP_TOKEN: bootstrapToken,
        AGENT_AUTO_APPROVE: "true",
        DATA_DIR: mkdtempSync(join(tmpdir(), "ss-fanin-")),
        LOG_LEVEL: "warn",
        ...opts.env,
      },
    },
  );
  const wsUrl = await new Promise<string>((resolve, reject) => {
    let buf = "";
    const on = (d: Buffer) => {
      buf += d.toString();
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(buf);
      if (m?.[1]) {
        child.stderr?.off("data", on);
        child.stderr?.resume();
        resolve(m[1]);
      }
    };
    child.stderr?.on("data", on);
    child.once("exit", () => reject(new Error(`server exited:\n${buf}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (i > 600) throw new Error("server not ready after 60 s");
    const ok = await fetch(`${url}/ready`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ws = new WebSocket(wsUrl);
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  let seq = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve) => {
      const id = ++seq;
      const on = (d: Buffer) => {
        const m = JSON.parse(d.toString());
        if (m.id !== id) return;
        ws.off("message", on);
        resolve(m);
      };
      ws.on("message", on);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const pid = child.pid ?? 0;
  const close = async () => {
    ws.close();
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    const c = new pg.Client({ connectionString: opts.postgresUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await c.end();
  };
  return {
    url,
    pid,
    bootstrapToken,
    rssMiB: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return Number(m?.[1] ?? 0) / 1024;
    },
    cpuSeconds: () => {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
    },
    async memory(gc: boolean) {
      if (gc) await call("HeapProfiler.collectGarbage");
      const r = await call("Runtime.evaluate", {
        expression: "JSON.stringify(process.memoryUsage())",
        returnByValue: true,
      });
      const m = JSON.parse(String(r.result?.result?.value)) as Record<string, number>;
      return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v / 2 ** 20]));
    },
    [Symbol.asyncDispose]: close,
  };
}
