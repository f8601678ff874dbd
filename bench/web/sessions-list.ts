/**
 * How fast the sessions pages are with 1,000 sessions: a real control plane (main.ts) on a
 * throwaway real Postgres, the built web UI, and Debian's Chromium. One user owns 1,000
 * sessions (running, hibernated, stopped and failed, as bench/control-plane seeds them); the
 * figures are the time from navigation to the rows on screen, the DOM size and the JS heap.
 *
 *   npm run bench -- web/sessions-list [--sessions 1000] [--reps 7]
 *
 * Compared in the same run: "My sessions" (paged: 24 live cards + 12 finished) and the
 * console's all-sessions table at 50 rows a page (the default) against 500 (the largest page
 * the API gives, the nearest to "render everything at once"). With `--baseline-dist DIR` (a
 * `vite build` of an earlier web/), a second pod on the same database serves that build and its
 * "My sessions" is measured beside the current one, e.g. the build before paging:
 *
 *   git archive <commit> web | tar -x -C .tmp/old && cp tsconfig.base.json .tmp/old/ &&
 *   (cd .tmp/old/web && npx vite build) &&
 *   npm run bench -- web/sessions-list --baseline-dist .tmp/old/web/dist
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import type { Page } from "playwright-core";
import { ensureChromium, launchChromium, signIn } from "../../e2e/console-kit.ts";
import { freePort, startPostgres, waitForPort } from "../../scripts/services.ts";
import { ensureWebBuild } from "../../scripts/web-build.ts";
import { connectJson, loadLine, ROOT } from "../api-fixtures.ts";
import { createBenchDatabase } from "../bench-database.ts";
import { quantile } from "../stats.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const SESSIONS = arg("sessions", 1000);
const baselineAt = process.argv.indexOf("--baseline-dist");
const BASELINE_DIST = baselineAt >= 0 ? resolve(process.argv[baselineAt + 1] ?? "") : undefined;
const REPS = arg("reps", 7);
const ADMIN_PASSWORD = "bench-admin-password";

async function seed(databaseUrl: string, ownerId: string, rows: number): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`INSERT INTO agents (id, platform, region, state, max_sessions, last_heartbeat_at, pod)
      VALUES ('bench-agent', 'local', '', 'online', 100000, now() + interval '1 day', 'elsewhere')`);
    const t = await c.query<{ id: string }>("SELECT id FROM templates WHERE name = 'demo-desktop'");
    await c.query(
      `INSERT INTO sessions (id, owner_id, template_id, agent_id, state, state_reason, version, display_name, holds_capacity, create_time, update_time)
       SELECT gen_random_uuid(), $3, $1, 'bench-agent',
              (ARRAY['running','running','running','hibernated','stopped','failed'])[1 + i % 6],
              'reported by the bench seed', 1, 'Desktop ' || i, false,
              now() - (i || ' seconds')::interval, now()
       FROM generate_series(1, $2) AS i`,
      [t.rows[0]?.id, rows, ownerId],
    );
    await c.query("ANALYZE sessions");
  } finally {
    await c.end();
  }
}

/** Navigation → `selector` visible, in ms, plus the DOM size and JS heap once it is there. */
async function measure(page: Page, hash: string, selector: string) {
  const origin = new URL(page.url()).origin;
  await page.goto("about:blank");
  const started = performance.now();
  await page.goto(`${origin}/${hash}`);
  await page.locator(selector).first().waitFor({ timeout: 60_000 });
  const ms = performance.now() - started;
  const { nodes, heap } = await page.evaluate(() => ({
    nodes: document.getElementsByTagName("*").length,
    heap: (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory
      ?.usedJSHeapSize,
  }));
  return { ms, nodes, heapMiB: (heap ?? 0) / 2 ** 20 };
}

/** The next page of the console table: click → the first row changed. */
async function nextPage(page: Page): Promise<number> {
  const first = await page.locator("tbody tr").first().getAttribute("data-session-id");
  const started = performance.now();
  await page.getByRole("button", { name: "Next" }).click();
  await page
    .locator(`tbody tr:first-child:not([data-session-id='${first}'])`)
    .waitFor({ timeout: 60_000 });
  return performance.now() - started;
}

const pgService = await startPostgres();
const dataDir = mkdtempSync(join(tmpdir(), "ss-web-bench-"));
const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
ensureChromium();
await ensureWebBuild();
const dbUrl = await createBenchDatabase(pgService.url, "webbench");
/** A control-plane pod on the bench database, serving `webDist` (the current build if unset). */
function startPod(podPort: number, name: string, webDist?: string) {
  return spawn(process.execPath, ["--import", "tsx", "control-plane/src/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: dbUrl,
      REDIS_URL: "",
      PORT: String(podPort),
      HOST: "127.0.0.1",
      POD_NAME: name,
      LOG_LEVEL: "warn",
      ADMIN_PASSWORD,
      JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123",
      // Each pod its own folder: both would otherwise write the first signing key at once.
      DATA_DIR: join(dataDir, name),
      ...(webDist ? { WEB_DIST: webDist } : {}),
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
}

async function waitPod(podPort: number) {
  await waitForPort(podPort, 60_000);
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`http://127.0.0.1:${podPort}/ready`).catch(() => undefined))?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const cp = startPod(port, "bench-pod");
const basePort = BASELINE_DIST ? await freePort() : 0;
const baseCp = BASELINE_DIST ? startPod(basePort, "bench-pod-baseline", BASELINE_DIST) : undefined;
try {
  await waitPod(port);
  if (baseCp) await waitPod(basePort);
  const admin = await connectJson<{ tokens: { accessToken: string } }>(
    baseUrl,
    "streamspace.v1.AuthService/Login",
    { username: "admin", password: ADMIN_PASSWORD },
  );
  const { user } = await connectJson<{ user: { id: string } }>(
    baseUrl,
    "streamspace.v1.UserService/CreateUser",
    { username: "heavy", password: "heavy-password-1", role: "ROLE_USER" },
    admin.tokens.accessToken,
  );
  await seed(dbUrl, user.id, SESSIONS);

  await using browser = await launchChromium();
  const heavy = await signIn(browser, baseUrl, "heavy", "heavy-password-1");
  const root = await signIn(browser, baseUrl, "admin", ADMIN_PASSWORD);
  const scenarios: Array<[string, Page, string, string]> = [
    [
      "My sessions (24 live + 12 finished cards)",
      heavy.page,
      "#/sessions",
      "[data-testid='finished-sessions'] .session-card",
    ],
    [
      "All sessions, 50 rows a page",
      root.page,
      "#/console?size=50",
      "[data-testid='console-sessions'] tbody tr",
    ],
    [
      "All sessions, 500 rows a page",
      root.page,
      "#/console?size=500",
      "[data-testid='console-sessions'] tbody tr:nth-child(500)",
    ],
  ];
  let before: Awaited<ReturnType<typeof signIn>> | undefined;
  if (BASELINE_DIST) {
    // The earlier page read 100 sessions of every state and drew them all as cards.
    before = await signIn(browser, `http://127.0.0.1:${basePort}`, "heavy", "heavy-password-1");
    scenarios.unshift([
      `My sessions, baseline build (${BASELINE_DIST.split("/").slice(-3).join("/")})`,
      before.page,
      "#/sessions",
      ".session-card:nth-child(100)",
    ]);
  }
  const rows: string[] = [];
  for (const [name, page, hash, selector] of scenarios) {
    await measure(page, hash, selector); // warm: code and first query cached by the browser
    const runs: Awaited<ReturnType<typeof measure>>[] = [];
    const pages: number[] | undefined = hash.startsWith("#/console") ? [] : undefined;
    for (let i = 0; i < REPS; i++) {
      runs.push(await measure(page, hash, selector));
      // One page forward from the first, while the table is on screen.
      if (pages) pages.push(await nextPage(page));
    }
    const ms = runs.map((r) => r.ms);
    rows.push(
      `| ${name} | ${quantile(ms, 0.5).toFixed(0)} | ${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)} | ${pages ? quantile(pages, 0.5).toFixed(0) : "—"} | ${runs.at(-1)?.nodes} | ${runs.at(-1)?.heapMiB.toFixed(1)} |`,
    );
  }
  process.stdout.write(
    [
      `${SESSIONS} sessions of one user, ${REPS} navigations each after one warm-up; ${loadLine()}`,
      "",
      "| page | median ms (navigation → rows shown) | min–max ms | next page ms (median) | DOM elements | JS heap MiB |",
      "|---|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n"),
  );
  for (const p of [heavy, root, before]) await p?.context.close();
} finally {
  for (const pod of [cp, baseCp]) {
    if (!pod) continue;
    const exited = new Promise((r) => pod.once("exit", r));
    pod.kill("SIGTERM");
    await exited;
  }
  await pgService.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
