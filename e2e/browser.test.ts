/**
 * End to end as a person would do it: the whole local system (the `npm start` path),
 * Debian's Chromium driven by playwright-core (never a downloaded browser), sign in, launch
 * the demo desktop, see real pixels in the viewer, type and see the desktop change, hibernate
 * and wake, stop. Screenshots go to test-artifacts/; the running desktop is also copied to
 * docs/screenshot-viewer.png for the README.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { chromium, type Page } from "playwright-core";
import { freePorts, startLocalSystem } from "../scripts/local-system.ts";
import { ensureWebBuild } from "../scripts/web-build.ts";
import { CHROMIUM, ensureChromium } from "./chromium.ts";

const ROOT = resolve(import.meta.dirname, "..");
const ARTIFACTS = join(ROOT, "test-artifacts");
/** Named waits: UI steps are quick, a desktop start or reconnect may take a few seconds. */

/** Luminance statistics of the viewer canvas below the (animated) title bar. */
async function canvasStats(
  page: Page,
): Promise<{ w: number; h: number; variance: number; hash: number }> {
  return page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="vnc-screen"] canvas');
    if (!c || c.width === 0) return { w: 0, h: 0, variance: 0, hash: 0 };
    const top = Math.min(40, c.height - 1);
    const data = c.getContext("2d")!.getImageData(0, top, c.width, c.height - top).data;
    let sum = 0;
    let sq = 0;
    let hash = 0;
    const n = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      const l = 0.2126 * data[i]! + 0.7152 * data[i + 1]! + 0.0722 * data[i + 2]!;
      sum += l;
      sq += l * l;
      hash = (hash * 31 + data[i]! + (data[i + 1]! << 8) + (data[i + 2]! << 16)) | 0;
    }
    const mean = sum / n;
    return { w: c.width, h: c.height, variance: sq / n - mean * mean, hash };
  });
}

test("browser: sign in, launch, see and type into the desktop, hibernate, wake, stop", async (t) => {
  ensureChromium();
  await ensureWebBuild();
  mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "ss-browser-"));
  const profile = mkdtempSync(join(tmpdir(), "ss-chromium-"));
  // After the system and the browser are gone (they are disposed when the test body ends).
  t.after(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });
  const logs: string[] = [];
  const browserLogs: string[] = [];
  let page: Page | undefined;
  await using system = await startLocalSystem({
    dataDir,
    ...(await freePorts()),
    output: (name, line) => logs.push(`${name}: ${line}`),
  });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  await using _browser = { [Symbol.asyncDispose]: () => context.close().catch(() => {}) };
  const shot = async (name: string) => {
    await page?.screenshot({ path: join(ARTIFACTS, `browser-${name}.png`) });
  };
  try {
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => browserLogs.push(`${m.type()}: ${m.text()}`));
    page.setDefaultTimeout(WAIT.medium);

    // Sign in.
    await page.goto(system.url);
    await page.getByLabel("Username").fill(system.username);
    await page.getByLabel("Password").fill(system.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "My sessions" }).waitFor();
    await shot("1-sessions");

    // The local agent shows up online on the admin's Agents page (live subscription).
    await page.getByRole("link", { name: "Agents", exact: true }).click();
    await page
      .locator("tr[data-agent-id] .badge[data-state='online']")
      .first()
      .waitFor({ timeout: WAIT.long });
    await shot("1b-agents");

    // Launch the demo desktop; the app goes to the viewer by itself.
    await page.getByRole("link", { name: "Launch", exact: true }).click();
    await page.locator('[data-template="demo-desktop"] button').click();
    await page.waitForURL(/#\/view\//);
    const screen = page.getByTestId("vnc-screen");
    await screen.and(page.locator('[data-vnc-status="connected"]')).waitFor({ timeout: WAIT.long });
    const before = await eventuallyFound(
      async () => {
        const s = await canvasStats(page!);
        return s.w > 0 && s.variance > 50 ? s : undefined;
      },
      { intervalMs: 100, what: "desktop pixels in the viewer", timeoutMs: WAIT.long },
    );
    await shot("2-viewer-running");
    // The README's screenshot is refreshed on request only, so a test run never dirties the tree.
    if (process.env.UPDATE_SCREENSHOTS === "1") {
      mkdirSync(join(ROOT, "docs"), { recursive: true });
      copyFileSync(
        join(ARTIFACTS, "browser-2-viewer-running.png"),
        join(ROOT, "docs/screenshot-viewer.png"),
      );
    }

    // Keyboard focus is in the desktop: typing changes the text panel.
    await page.keyboard.type("Hello StreamSpace");
    await eventuallyFound(
      async () => {
        const s = await canvasStats(page!);
        return s.hash !== before.hash;
      },
      { intervalMs: 100, what: "typed keys to change the desktop", timeoutMs: WAIT.medium },
    );
    await shot("3-viewer-typed");

    // Hibernate, then wake; the viewer reconnects with a fresh token on its own.
    await page.getByRole("button", { name: "Hibernate" }).click();
    await page
      .locator(".page-head .badge[data-state='hibernated']")
      .waitFor({ timeout: WAIT.long });
    await shot("4-hibernated");
    await page.getByRole("button", { name: "Wake" }).click();
    await screen.and(page.locator('[data-vnc-status="connected"]')).waitFor({ timeout: WAIT.long });
    await eventuallyFound(async () => (await canvasStats(page!)).variance > 50, {
      what: "pixels after wake",
      timeoutMs: WAIT.long,
    });
    await shot("5-woken");

    // Stop.
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator(".page-head .badge[data-state='stopped']").waitFor({ timeout: WAIT.long });
    await shot("6-stopped");
    assert.ok(true);
  } catch (err) {
    await shot("failure").catch(() => {});
    process.stderr.write(`--- system logs ---\n${logs.slice(-80).join("\n")}\n`);
    process.stderr.write(`--- browser console ---\n${browserLogs.slice(-40).join("\n")}\n`);
    throw err;
  }
});
