/**
 * The desktop templates as a person uses them, end to end: the whole local system (the
 * `npm start` path: real control plane, relay, agent, Xvfb, x11vnc, openbox) and Debian's
 * Chromium driven by playwright-core.
 * - The Linux desktop runs with its panel and windows, the toolbar names it by its template,
 *   the QoE overlay fills in (frames, first frame, the relay's round trip), and the Quality
 *   page lists it. With UPDATE_SCREENSHOTS=1 it becomes the README's desktop screenshot.
 * - The Terminal (xterm + openbox) takes keys with the pointer elsewhere, and the clipboard goes
 *   both ways (checked on the X display with xclip).
 * - A template with a 20 s idle timeout warns 10 s before, input cancels the warning, the
 *   session hibernates without input, and opening it again wakes it.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { chromium, type Page } from "playwright-core";
import { freePorts, startLocalSystem } from "../scripts/local-system.ts";
import { ensureWebBuild } from "../scripts/web-build.ts";
import { CHROMIUM } from "./chromium.ts";

const ROOT = resolve(import.meta.dirname, "..");
const ARTIFACTS = join(ROOT, "test-artifacts");

for (const bin of ["chromium", "openbox", "tint2", "xclip", "Xvfb", "x11vnc", "xterm"]) {
  try {
    execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
  } catch {
    throw new Error(`${bin} is missing: run "bash scripts/install-system-deps.sh" as root.`);
  }
}

/** Variance of the viewer canvas's luminance: a real picture, not one flat colour. */
async function canvasVariance(page: Page): Promise<number> {
  return page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="vnc-screen"] canvas');
    if (!c || c.width === 0) return 0;
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    let sq = 0;
    const n = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      const l = 0.2126 * data[i]! + 0.7152 * data[i + 1]! + 0.0722 * data[i + 2]!;
      sum += l;
      sq += l * l;
    }
    return sq / n - (sum / n) ** 2;
  });
}

/** A hash of the viewer canvas, to see that it changed. */
async function canvasHash(page: Page): Promise<number> {
  return page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="vnc-screen"] canvas');
    if (!c || c.width === 0) return 0;
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let hash = 0;
    for (let i = 0; i < data.length; i += 4)
      hash = (hash * 31 + data[i]! + (data[i + 1]! << 8) + (data[i + 2]! << 16)) | 0;
    return hash;
  });
}

test("desktops in the browser: desktop, terminal keys and clipboard, QoE, idle hibernation", async (t) => {
  await ensureWebBuild();
  mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "ss-desktops-"));
  const profile = mkdtempSync(join(tmpdir(), "ss-chromium-"));
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
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
  });
  await using _browser = { [Symbol.asyncDispose]: () => context.close().catch(() => {}) };
  const shot = (name: string) =>
    page?.screenshot({ path: join(ARTIFACTS, `desktops-${name}.png`) });
  const sessionIdOf = (p: Page) => decodeURIComponent(p.url().split("#/view/")[1] ?? "");
  const displayOf = (sessionId: string) =>
    `:${readFileSync(join(dataDir, "agent", "sessions", `${sessionId}.display`), "utf8").trim()}`;

  // The idle template, made through the public API as an operator would.
  const transport = createGrpcTransport({ baseUrl: system.url });
  const login = await createClient(AuthService, transport).login({
    username: system.username,
    password: system.password,
  });
  const headers = { authorization: `Bearer ${login.tokens?.accessToken}` };
  await createClient(TemplateService, transport).createTemplate(
    {
      template: {
        name: "idle-demo",
        displayName: "Idle demo",
        image: "builtin:demo",
        idleTimeout: { seconds: 20n },
        platform: 1,
      },
    },
    { headers },
  );

  try {
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => browserLogs.push(`${m.type()}: ${m.text()}`));
    page.setDefaultTimeout(WAIT.medium);
    await page.goto(system.url);
    await page.getByLabel("Username").fill(system.username);
    await page.getByLabel("Password").fill(system.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "My sessions" }).waitFor();
    const screen = page.getByTestId("vnc-screen");
    const connected = () =>
      screen.and(page!.locator('[data-vnc-status="connected"]')).waitFor({ timeout: WAIT.long });
    const launch = async (template: string) => {
      await page!.getByRole("link", { name: "Launch", exact: true }).click();
      await page!.locator(`[data-template="${template}"] button`).click();
      await page!.waitForURL(/#\/view\//);
      await connected();
      return sessionIdOf(page!);
    };

    // 1. The Linux desktop: real pixels, its visible name, the QoE overlay.
    const desktopId = await launch("desktop");
    assert.equal(await page.getByTestId("viewer-name").textContent(), "Linux desktop");
    await eventuallyFound(async () => ((await canvasVariance(page!)) > 100 ? true : undefined), {
      what: "the desktop's panel and windows",
      timeoutMs: WAIT.long,
    });
    // The overlay is off until asked for; the Stats button shows it (and is remembered).
    const overlay = page.getByTestId("qoe-overlay");
    assert.equal(await overlay.count(), 0);
    await page.getByRole("button", { name: "Stats" }).click();
    await overlay.waitFor();
    await eventuallyFound(
      async () => {
        const ttff = await overlay.locator('[data-qoe="ttff"]').textContent();
        const rtt = await overlay.locator('[data-qoe="rtt"]').textContent();
        return /\d+ ms/.test(ttff ?? "") && /\d+ ms/.test(rtt ?? "") ? true : undefined;
      },
      { what: "time to first frame and the relay's round trip", timeoutMs: WAIT.long },
    );
    // Let the terminal and the file manager finish drawing before the picture is taken.
    await page.mouse.move(5, 5);
    await page.waitForTimeout(3_000);
    await shot("1-desktop");
    if (process.env.UPDATE_SCREENSHOTS === "1") {
      copyFileSync(
        join(ARTIFACTS, "desktops-1-desktop.png"),
        join(ROOT, "docs/screenshot-desktop.png"),
      );
    }

    // 2. The fleet view lists it with its figures.
    await page.getByRole("link", { name: "Quality", exact: true }).click();
    await page.locator(`[data-testid="fleet-table"] tr[data-session-id="${desktopId}"]`).waitFor({
      timeout: WAIT.long,
    });
    await shot("2-quality");

    // 3. The terminal takes keys with the pointer away from it; the clipboard goes both ways.
    const termId = await launch("xterm-desktop");
    assert.equal(await page.getByTestId("viewer-name").textContent(), "Terminal");
    const display = displayOf(termId);
    const box = await screen.boundingBox();
    assert.ok(box);
    await eventuallyFound(async () => ((await canvasVariance(page!)) > 10 ? true : undefined), {
      what: "the terminal on screen",
      timeoutMs: WAIT.long,
    });
    // The pointer rests outside the xterm: without a window manager its keys would go nowhere.
    // (What the keys do is the shell's business; that they arrive shows on the screen.)
    await page.mouse.move(box.x + box.width - 5, box.y + box.height - 5);
    await page.waitForTimeout(1_000);
    const still = await canvasHash(page);
    await page.keyboard.type("keys reach the terminal");
    await eventuallyFound(async () => ((await canvasHash(page!)) !== still ? true : undefined), {
      what: "typed keys to show in the xterm",
      timeoutMs: WAIT.long,
    });
    // xclip owns the selection until x11vnc (on the browser's paste) takes it; -quiet keeps it
    // in the foreground, so this handle is the process and it is ended with the test.
    const owner = spawn("xclip", ["-quiet", "-selection", "clipboard", "-display", display], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    t.after(() => owner.kill());
    owner.stdin.end("from the desktop");
    await page.getByRole("button", { name: "Clipboard" }).click();
    const clip = page.getByTestId("clipboard-text");
    await eventuallyFound(
      async () => ((await clip.inputValue()) === "from the desktop" ? true : undefined),
      {
        what: "the desktop's clipboard in the viewer",
        timeoutMs: WAIT.long,
      },
    );
    await clip.fill("from the browser");
    await page.getByRole("button", { name: "Send to desktop" }).click();
    await eventuallyFound(
      async () => {
        const got = execFileSync("xclip", ["-o", "-selection", "clipboard", "-display", display], {
          encoding: "utf8",
        });
        return got === "from the browser" ? true : undefined;
      },
      { what: "the browser's text on the desktop's clipboard", timeoutMs: WAIT.long },
    );
    await shot("3-terminal-clipboard");

    // 4. Idle: warned 10 s before the 20 s timeout, input cancels, then it hibernates.
    const idleId = await launch("idle-demo");
    const warning = page.getByTestId("idle-warning");
    await warning.waitFor({ timeout: WAIT.long });
    await shot("4-idle-warning");
    const sb = await screen.boundingBox();
    assert.ok(sb);
    await page.mouse.move(sb.x + sb.width / 2, sb.y + sb.height / 2);
    await page.mouse.move(sb.x + sb.width / 2 + 20, sb.y + sb.height / 2 + 10);
    await warning.waitFor({ state: "hidden", timeout: WAIT.medium });
    // Without more input it warns again and then hibernates.
    await warning.waitFor({ timeout: WAIT.long });
    await page
      .locator(".page-head .badge[data-state='hibernated']")
      .waitFor({ timeout: WAIT.long });
    await shot("5-hibernated");
    const metrics = await (await fetch(`${system.url}/metrics`)).text();
    assert.match(metrics, /^streamspace_sessions_idle_hibernated_total 1$/m);

    // 5. Opening it again wakes it.
    await page.goto(`${system.url}/#/sessions`);
    await page.goto(`${system.url}/#/view/${encodeURIComponent(idleId)}`);
    await page.reload();
    await connected();
    assert.equal(await page.getByTestId("viewer-name").textContent(), "Idle demo");
    await shot("6-woken-on-open");
  } catch (err) {
    await shot("failure")?.catch(() => {});
    process.stderr.write(`--- system logs ---\n${logs.slice(-80).join("\n")}\n`);
    process.stderr.write(`--- browser console ---\n${browserLogs.slice(-40).join("\n")}\n`);
    throw err;
  }
});
