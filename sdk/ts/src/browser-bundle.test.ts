/**
 * The SDK works in a browser: esbuild bundles `@streamspace/sdk` for the browser (the package's
 * "browser" export condition picks web.ts; a Node built-in anywhere in the graph fails the
 * build), and Debian's Chromium runs the bundle against the live control plane, over Connect
 * and gRPC-Web, from a page on the control plane's own origin (as the web UI is served).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { type LiveControlPlane, startLiveControlPlane } from "../testing/live-control-plane.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PACKAGE_DIR = resolve(import.meta.dirname, "..");

/** What the page does with the SDK; it reports into window.__result. */
const PAGE_SCRIPT = `
import { createStreamSpaceClient, SessionState, StreamSpaceError, Code } from "@streamspace/sdk";
const { username, password } = JSON.parse(new URLSearchParams(location.search).get("login"));
const out = {};
try {
  for (const protocol of ["connect", "grpc-web"]) {
    const c = createStreamSpaceClient({ baseUrl: location.origin, protocol });
    const me = await c.signIn(username, password);
    const templates = [];
    for await (const t of c.listTemplates({ pageSize: 1 })) templates.push(t.name);
    const { session } = await c.sessions.createSession({ template: "demo-desktop" });
    const ctl = new AbortController();
    let first;
    for await (const e of c.watchSessions({ sessionId: session.id, signal: ctl.signal })) {
      first = e;
      break;
    }
    await c.sessions.stopSession({ id: session.id });
    let error;
    try {
      await c.sessions.getSession({ id: "00000000-0000-4000-8000-000000000000" });
    } catch (e) {
      error = { typed: e instanceof StreamSpaceError, notFound: e.code === Code.NotFound, name: e.codeName };
    }
    out[protocol] = { user: me.username, templates, watched: first?.session.id === session.id,
      state: SessionState[first?.session.state], error };
  }
  try {
    createStreamSpaceClient({ baseUrl: location.origin, protocol: "grpc" });
  } catch (e) {
    out.grpc = e.message;
  }
} catch (e) {
  out.failure = String(e && e.stack || e);
}
window.__result = out;
`;

let cp: LiveControlPlane;
before(async () => {
  cp = await startLiveControlPlane();
});
after(async () => {
  await cp?.stop();
});

test("an esbuild browser bundle of the SDK signs in, lists, creates, watches and stops in Chromium", async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run "sudo apt-get install -y chromium".`);
  }
  const bundle = await build({
    stdin: { contents: PAGE_SCRIPT, resolveDir: PACKAGE_DIR, loader: "js" },
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    // Resolve the package to its TypeScript sources (published builds resolve to dist/).
    conditions: ["source"],
    write: false,
    logLevel: "silent",
  });
  const js = bundle.outputFiles[0]!.text;
  assert.doesNotMatch(js, /from\s*"node:|require\("node:/, "no Node built-ins in the bundle");
  assert.doesNotMatch(js, /connect-node/, "the Node transports stay out of the browser bundle");

  const profile = mkdtempSync(join(tmpdir(), "ss-sdk-chromium-"));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage();
    const console: string[] = [];
    page.on("console", (m) => console.push(m.text()));
    page.on("pageerror", (e) => console.push(String(e)));
    // The page is served on the control plane's origin (as the web UI is), so no CORS is needed.
    await page.route(`${cp.url}/sdk-test/**`, (route) =>
      route.fulfill({
        status: 200,
        contentType: route.request().url().endsWith(".js") ? "text/javascript" : "text/html",
        body: route.request().url().endsWith(".js")
          ? js
          : '<!doctype html><script type="module" src="/sdk-test/bundle.js"></script>',
      }),
    );
    const login = encodeURIComponent(
      JSON.stringify({ username: cp.username, password: cp.password }),
    );
    await page.goto(`${cp.url}/sdk-test/index.html?login=${login}`);
    const handle = await page.waitForFunction(() => (window as { __result?: unknown }).__result, {
      timeout: 60_000,
    });
    const result = (await handle.jsonValue()) as Record<string, unknown>;
    assert.equal(result.failure, undefined, `${String(result.failure)}\n${console.join("\n")}`);
    for (const protocol of ["connect", "grpc-web"]) {
      const r = result[protocol] as {
        user: string;
        templates: string[];
        watched: boolean;
        state: string;
        error: unknown;
      };
      assert.equal(r.user, "admin", protocol);
      assert.ok(r.templates.includes("demo-desktop"), r.templates.join(","));
      assert.equal(r.watched, true, `${protocol}: the watch delivered the session first`);
      assert.ok(["PENDING", "SCHEDULED", "STARTING", "RUNNING"].includes(r.state), r.state);
      assert.deepEqual(r.error, { typed: true, notFound: true, name: "not_found" });
    }
    assert.match(String(result.grpc), /cannot speak plain gRPC/);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
