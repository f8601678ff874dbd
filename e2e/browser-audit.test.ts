/**
 * The Audit page in a real browser (Debian's Chromium through playwright-core), by role: an
 * admin finds it in the menu and sees the calls that changed something, allowed and refused,
 * and can narrow them with a filter; a user has no Audit entry in the menu, and opening its
 * address anyway shows the refusal, never an entry. One control-plane pod in this process
 * serves the built UI and the API; no desktop is needed.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { WAIT } from "@streamspace/common/testing";
import { Role } from "@streamspace/proto/streamspace/v1/types_pb";
import { UserService } from "@streamspace/proto/streamspace/v1/user_service_pb";
import { chromium, type Page } from "playwright-core";
import {
  startTestControlPlane,
  TEST_ADMIN_PASSWORD,
} from "../control-plane/src/testing/test-control-plane.ts";
import { ensureWebBuild } from "../scripts/web-build.ts";
import { CHROMIUM, ensureChromium } from "./chromium.ts";

const ARTIFACTS = join(resolve(import.meta.dirname, ".."), "test-artifacts");

async function signIn(page: Page, url: string, username: string, password: string) {
  await page.goto(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "My sessions" }).waitFor();
}

test("browser: an admin reads and filters the audit log; a user cannot", async (t) => {
  ensureChromium();
  await ensureWebBuild();
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "ss-chromium-"));
  t.after(() => rmSync(profile, { recursive: true, force: true }));
  await using cp = await startTestControlPlane();

  // What the log must show: an allowed call (the admin creates a user) and a refused one (that
  // user tries to create another).
  const users = createClient(UserService, createGrpcTransport({ baseUrl: cp.url }));
  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const password = "rita-password-123";
  const { user: rita } = await users.createUser(
    { username: "rita", password, displayName: "Rita", role: Role.USER },
    auth(await cp.adminToken()),
  );
  assert.ok(rita?.id);
  const refused = await users
    .createUser(
      { username: "mallory", password, role: Role.ADMIN },
      auth(await cp.login("rita", password)),
    )
    .then(
      () => undefined,
      (e: unknown) => ConnectError.from(e).code,
    );
  assert.equal(refused, Code.PermissionDenied);

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
  });
  await using _browser = { [Symbol.asyncDispose]: () => context.close().catch(() => {}) };
  const page = context.pages()[0] ?? (await context.newPage());
  const browserLogs: string[] = [];
  page.on("console", (m) => browserLogs.push(`${m.type()}: ${m.text()}`));
  page.setDefaultTimeout(WAIT.medium);
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `audit-${name}.png`) });
  try {
    // The admin: the menu has Audit; both calls are there, with who, what and how it ended.
    await signIn(page, cp.url, "admin", TEST_ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Audit", exact: true }).click();
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    // Columns: when, who, action, target, from, outcome.
    const row = (who: string, action: string, target: string) =>
      page
        .locator("tr[data-audit-id]")
        .filter({ has: page.locator("td:nth-child(2)", { hasText: who }) })
        .filter({ has: page.locator("td:nth-child(3)", { hasText: action }) })
        .filter({ has: page.locator("td:nth-child(4)", { hasText: target }) });
    const me = await users.listUsers({ pageSize: 10 }, auth(await cp.adminToken()));
    const adminId = me.users.find((u) => u.username === "admin")?.id ?? "admin";
    const created = row(adminId, "user.create", rita.id);
    await created.first().waitFor({ timeout: WAIT.long });
    assert.match((await created.first().locator(".badge").textContent()) ?? "", /^ok$/);
    const denied = row(rita.id, "user.create", "mallory");
    await denied.first().waitFor();
    assert.match((await denied.first().locator(".badge").textContent()) ?? "", /permission_denied/);
    await shot("1-admin");

    // A filter narrows the list to one actor: only the user's own calls are left (its sign-in
    // and the refused create), none of the admin's.
    await page.getByLabel("Actor (user id)").fill(rita.id);
    await page.getByRole("button", { name: "Filter" }).click();
    await page.locator("tr[data-audit-id]", { hasText: rita.id }).first().waitFor();
    await page.waitForFunction(
      (actor) =>
        [...document.querySelectorAll("tr[data-audit-id]")].every((r) =>
          r.textContent?.includes(actor),
        ),
      rita.id,
      { timeout: WAIT.medium },
    );
    assert.equal(await page.locator("tr[data-audit-id]", { hasText: "mallory" }).count(), 1);
    await shot("2-admin-filtered");
    await page.getByRole("button", { name: "Sign out" }).click();

    // The user: no Audit in the menu; the address itself shows the refusal and no entry.
    await signIn(page, cp.url, "rita", password);
    await page.getByRole("link", { name: "Sessions", exact: true }).waitFor();
    assert.equal(await page.getByRole("link", { name: "Audit", exact: true }).count(), 0);
    await page.goto(`${cp.url}/#/audit`);
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: WAIT.long });
    assert.match((await alert.textContent()) ?? "", /This page is for admins\./);
    assert.equal(await page.locator("tr[data-audit-id]").count(), 0);
    await shot("3-user-refused");
  } catch (err) {
    await shot("failure").catch(() => {});
    process.stderr.write(`--- browser console ---\n${browserLogs.slice(-40).join("\n")}\n`);
    throw err;
  }
});
