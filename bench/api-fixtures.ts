/**
 * What the ghz and Artillery benchmarks share: the pinned external tools (installed into the
 * SDK tool cache outside the repository, never into node_modules), the 100,000-session seed,
 * sign-in over the Connect protocol's JSON form (plain fetch, as any HTTP client would), and
 * the one-line machine state every figure is recorded with.
 */
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Installs (once, cached) and returns the path of a Go tool pinned in sdk/scripts/tools.sh. */
export function goTool(variable: "GHZ_TOOL"): string {
  const out = execFileSync(
    "bash",
    [
      "-c",
      `source sdk/scripts/tools.sh && sdk_go_tool "$${variable}" >&2 && spec="$${variable}" && n="$(basename "\${spec%@*}")" && echo "$SDK_CACHE/go/bin/$n"`,
    ],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  return out.trim();
}

/**
 * Seeds `rows` sessions owned by 1,000 users on an always-fresh agent with room for every
 * create (as bench/control-plane/control-plane-bench.ts does), so ListSessions pages through
 * 100,000 rows and CreateSession always finds capacity. Returns one seeded session id.
 */
export async function seedSessions(databaseUrl: string, rows: number): Promise<string> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`INSERT INTO agents (id, platform, region, state, max_sessions, last_heartbeat_at, pod)
      VALUES ('bench-agent', 'local', '', 'online', 10000000, now() + interval '1 day', 'elsewhere')
      ON CONFLICT (id) DO NOTHING`);
    const t = await c.query<{ id: string }>("SELECT id FROM templates WHERE name = 'demo-desktop'");
    await c.query(
      `INSERT INTO sessions (id, owner_id, template_id, agent_id, state, version, display_name, holds_capacity, create_time, update_time)
       SELECT gen_random_uuid(), 'bench-user-' || (i % 1000), $1, 'bench-agent',
              (ARRAY['running','running','running','hibernated','stopped','failed'])[1 + i % 6],
              1, 'bench ' || i, false, now() - (i || ' seconds')::interval, now()
       FROM generate_series(1, $2) AS i`,
      [t.rows[0]?.id, rows],
    );
    await c.query("ANALYZE sessions");
    const one = await c.query<{ id: string }>("SELECT id FROM sessions LIMIT 1");
    return one.rows[0]!.id;
  } finally {
    await c.end();
  }
}

/** A unary call in the Connect protocol's JSON form. */
export async function connectJson<T>(
  baseUrl: string,
  method: string,
  body: unknown,
  token?: string,
): Promise<T> {
  const res = await fetch(`${baseUrl}/${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Signs in and returns an access token (15 minutes: enough for one benchmark run). */
export async function accessToken(baseUrl: string, username: string, password: string) {
  const r = await connectJson<{ tokens: { accessToken: string } }>(
    baseUrl,
    "streamspace.v1.AuthService/Login",
    { username, password },
  );
  return r.tokens.accessToken;
}

/** Waits until every URL answers /ready with 200. */
export async function waitReady(urls: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    for (;;) {
      const ok = await fetch(`${url}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** "load 1.23 0.98 0.75" — recorded beside every figure (the machine is shared). */
export function loadLine(): string {
  return `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;
}

/** Milliseconds with up to two decimals, for tables. */
export const ms = (v: number | undefined) => (v === undefined ? "—" : v.toFixed(v < 10 ? 2 : 1));
