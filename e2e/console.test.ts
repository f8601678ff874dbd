/**
 * The operator console end to end, in Debian's Chromium against the whole local system (the
 * `npm start` path, with agent auto-approval off so an admin approves the agent in the UI).
 * Each console page and action is driven as an admin, as a user and as an operator, and what
 * the UI hides from a role is also refused to that role's token on both API roads (tRPC and
 * Connect). Screenshots go to test-artifacts/; with UPDATE_SCREENSHOTS=1 the all-sessions view
 * is copied to docs/screenshot-console.png for the README.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { eventually, WAIT } from "@streamspace/common/testing";
import type { Page } from "playwright-core";
import { freePorts, startLocalSystem } from "../scripts/local-system.ts";
import { ensureWebBuild } from "../scripts/web-build.ts";
import {
  apiLogin,
  connectCall,
  ensureChromium,
  launchChromium,
  type Person,
  signIn,
  trpcCall,
  trpcData,
} from "./console-kit.ts";
import { assertStaffCallsRefused } from "./console-refusals.ts";

const ROOT = resolve(import.meta.dirname, "..");
const ARTIFACTS = join(ROOT, "test-artifacts");
/** Pages only staff may open, and the role each needs. */
const STAFF_PAGES = [
  ["console", "operators and admins"],
  ["users", "operators and admins"],
  ["templates", "operators and admins"],
  ["agents", "operators and admins"],
  ["audit", "admins"],
] as const;

interface SessionRow {
  id: string;
  state: string;
  ownerId: string;
}

test("console: every page and action as admin, user and operator; roles hold in UI and API", async (t) => {
  ensureChromium();
  await ensureWebBuild();
  mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "ss-console-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: string[] = [];
  await using system = await startLocalSystem({
    dataDir,
    ...(await freePorts()),
    autoApprove: false,
    output: (name, line) => logs.push(`${name}: ${line}`),
  });
  await using browser = await launchChromium();
  const url = system.url;
  const people: Person[] = [];
  const shot = async (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`) });

  // Helpers over the API, used to set up and to check outcomes (never as the thing under test).
  const admin = await apiLogin(url, system.username, system.password);
  const sessionsOf = async (token: string, input: Record<string, unknown> = {}) =>
    trpcData<{ sessions: SessionRow[] }>(
      await trpcCall(url, token, "query", "sessions.list", { pageSize: 500, ...input }),
    ).sessions;
  const launch = async (token: string) =>
    trpcData<SessionRow>(
      await trpcCall(url, token, "mutation", "sessions.create", { template: "demo-desktop" }),
    ).id;
  const userIdOf = async (username: string) =>
    trpcData<{ users: Array<{ id: string; username: string }> }>(
      await trpcCall(url, admin.token, "query", "users.list", { pageSize: 500, pageToken: "" }),
    ).users.find((u) => u.username === username)?.id ?? "";

  try {
    // ---------------------------------------------------------------- as an admin
    const root = await signIn(browser, url, system.username, system.password);
    people.push(root);
    const a = root.page;

    await t.test("admin approves the waiting agent and sees its load", async () => {
      await a.getByRole("link", { name: "Agents", exact: true }).click();
      const row = a.locator("tr[data-agent-id='local-1']");
      await row.locator(".badge[data-state='pending']").waitFor({ timeout: WAIT.long });
      await row.getByRole("button", { name: "Approve" }).click();
      await a.getByText("Credential for local-1").waitFor();
      await row.locator(".badge[data-state='online']").waitFor({ timeout: WAIT.long });
      await row.getByText(/0 \/ \d+/).waitFor();
    });

    await t.test(
      "admin manages users: validation, create, role, disable, enable, reset",
      async () => {
        await a.getByRole("link", { name: "Users", exact: true }).click();
        const form = a.getByRole("form", { name: "New user" });
        const create = async (username: string, password: string, role = "user") => {
          await form.getByLabel("Username").fill(username);
          await form.getByLabel("Password").fill(password);
          await form.getByLabel("Role").selectOption(role);
          await form.getByRole("button", { name: "Create user" }).click();
        };
        await create("Bad Name", "long enough pw");
        await form
          .getByText("username: must be lower-case letters, digits, '.', '_' or '-'", {
            exact: false,
          })
          .waitFor();
        await create("uma", "uma-password-1");
        await a.getByText("Created uma.").waitFor();
        await create("otto", "otto-password-1", "operator");
        await a.getByText("Created otto.").waitFor();
        await create("tess", "tess-password-1");
        await a.locator("tr[data-user='tess']").waitFor();

        await a.getByLabel("Role of tess").selectOption("operator");
        await a.getByText("tess is now an operator.").waitFor();
        const tess = a.locator("tr[data-user='tess']");
        await tess.getByRole("button", { name: "Disable" }).click();
        await tess.getByText("disabled", { exact: true }).waitFor();
        const refused = await trpcCall(url, undefined, "mutation", "auth.login", {
          username: "tess",
          password: "tess-password-1",
        });
        assert.notEqual(refused.status, 200, "a disabled user cannot sign in");
        await tess.getByRole("button", { name: "Enable" }).click();
        await tess.getByText("active", { exact: true }).waitFor();
        await apiLogin(url, "tess", "tess-password-1");

        // The last admin is protected by the domain; the console shows its sentence.
        await a
          .locator(`tr[data-user='${system.username}']`)
          .getByRole("button", { name: "Disable" })
          .click();
        await a.getByText("This is the last enabled admin", { exact: false }).waitFor();

        const uma = a.locator("tr[data-user='uma']");
        await uma.getByRole("button", { name: "Reset password" }).click();
        await a.getByLabel("New password for uma").fill("short");
        await uma.getByRole("button", { name: "Set password", exact: true }).click();
        await uma.getByText("password: must be at least 8 characters.").waitFor();
        await a.getByLabel("New password for uma").fill("uma-password-2");
        await uma.getByRole("button", { name: "Set password", exact: true }).click();
        await a.getByText("uma has a new password and was signed out everywhere.").waitFor();
        await shot(a, "1-users");
      },
    );

    await t.test(
      "admin creates, edits and retires a template with the domain's messages",
      async () => {
        await a.getByRole("link", { name: "Templates", exact: true }).click();
        await a.getByRole("button", { name: "+ New template" }).click();
        const form = a.getByRole("form", { name: "New template" });
        await form.getByLabel("Name (lowercase, used in the API)").fill("Bad_Name");
        await form.getByLabel("Image or program").fill("builtin:demo");
        await form.getByRole("button", { name: "Create template" }).click();
        await form
          .getByText("name: must be lowercase letters, digits and '-'", { exact: false })
          .waitFor();
        await form.getByLabel("Name (lowercase, used in the API)").fill("console-demo");
        await form.getByLabel("Display name").fill("Console demo");
        await form.getByLabel("Memory (MiB, 0 = default)").fill("512");
        await form.getByRole("button", { name: "Create template" }).click();
        await a.getByText("Created Console demo; users can launch it now.").waitFor();
        const row = a.locator("tr[data-template-row='console-demo']");
        await row.getByText("512 MiB").waitFor();

        await row.getByRole("button", { name: "Edit" }).click();
        const edit = a.getByRole("form", { name: "Edit console-demo" });
        await edit.getByLabel("Idle timeout (seconds, 0 = never)").fill("99999999");
        await edit.getByRole("button", { name: "Save template" }).click();
        await edit.getByText("idle_timeout_seconds: must be at most 30 days.").waitFor();
        await edit.getByLabel("Idle timeout (seconds, 0 = never)").fill("0");
        await edit.getByLabel("Description").fill("Edited in the console");
        await edit.getByRole("button", { name: "Save template" }).click();
        await a.getByText("Saved Console demo.").waitFor();
        const saved = trpcData<{ templates: Array<{ name: string; description: string }> }>(
          await trpcCall(url, admin.token, "query", "templates.list", {}),
        ).templates.find((x) => x.name === "console-demo");
        assert.equal(saved?.description, "Edited in the console");

        await row.getByRole("button", { name: "Retire" }).click();
        await a.getByText("Retired console-demo.", { exact: false }).waitFor();
        await row.waitFor({ state: "detached" });
      },
    );

    await t.test("admin creates and revokes an API key; the key works until revoked", async () => {
      await a.getByRole("link", { name: "API keys", exact: true }).click();
      await a.getByLabel("Key name").fill("admin-script");
      await a.getByRole("button", { name: "Create key" }).click();
      const secret = (await a.getByTestId("new-key").locator("code").textContent()) ?? "";
      assert.match(secret, /^ssk_/);
      const who = await connectCall(url, secret, "streamspace.v1.AuthService/WhoAmI", {});
      assert.equal((who.body.user as { username?: string })?.username, system.username);
      await a
        .locator("tr[data-key='admin-script']")
        .getByRole("button", { name: "Revoke" })
        .click();
      await a.locator("tr[data-key='admin-script']").waitFor({ state: "detached" });
      const after = await connectCall(url, secret, "streamspace.v1.AuthService/WhoAmI", {});
      assert.equal(after.body.code, "unauthenticated");
    });

    // ---------------------------------------------------------------- as a user
    const umaLogin = await apiLogin(url, "uma", "uma-password-2");
    const uma = await signIn(browser, url, "uma", "uma-password-2");
    people.push(uma);
    const u = uma.page;

    await t.test(
      "a user sees no console in the navigation and is turned away from its pages",
      async () => {
        const nav = u.locator("nav.nav");
        await nav.getByRole("link", { name: "API keys", exact: true }).waitFor();
        for (const label of ["All sessions", "Users", "Templates", "Agents", "Audit"]) {
          assert.equal(await nav.getByRole("link", { name: label, exact: true }).count(), 0, label);
        }
        for (const [page, who] of STAFF_PAGES) {
          await u.goto(`${url}/#/${page}`);
          await u.getByText(`This page is for ${who}.`).waitFor();
          assert.equal(await u.locator("table").count(), 0, `#/${page} shows no table`);
          assert.equal(
            await u.getByRole("button", { name: /Approve|Create|Retire|Delete/ }).count(),
            0,
          );
        }
        await shot(u, "2-user-turned-away");
      },
    );

    await t.test("a user's console calls are refused at the API (tRPC and Connect)", async () => {
      await assertStaffCallsRefused(url, umaLogin.token, "user", admin.userId);
      // Another user's session reads as missing, on both roads.
      const adminSession = await launch(admin.token);
      const stop = await trpcCall(url, umaLogin.token, "mutation", "sessions.stop", {
        id: adminSession,
      });
      assert.equal(stop.status, 404);
      const get = await connectCall(
        url,
        umaLogin.token,
        "streamspace.v1.SessionService/StopSession",
        {
          id: adminSession,
        },
      );
      assert.equal(get.body.code, "not_found");
      const list = await trpcCall(url, umaLogin.token, "query", "sessions.list", {
        ownerId: admin.userId,
      });
      assert.equal(list.status, 403);
    });

    await t.test("a user's stopped sessions move aside and go with one Clear stopped", async () => {
      const ids = [
        await launch(umaLogin.token),
        await launch(umaLogin.token),
        await launch(umaLogin.token),
      ];
      await u.getByRole("link", { name: "Sessions", exact: true }).click();
      const live = u.getByTestId("live-sessions");
      for (const id of ids)
        await live.locator(`[data-session-id='${id}']`).waitFor({ timeout: WAIT.long });
      // The subtitle never repeats the title.
      for (const card of await live.locator(".session-card").all()) {
        const title = (await card.locator("h3").textContent()) ?? "";
        const subtitle = (await card.locator(".card-head p").textContent()) ?? "";
        assert.ok(!subtitle.includes(title), `subtitle "${subtitle}" repeats "${title}"`);
      }
      for (const id of ids.slice(0, 2)) {
        await live
          .locator(`[data-session-id='${id}']`)
          .getByRole("button", { name: "Stop" })
          .click();
      }
      const finished = u.getByTestId("finished-sessions");
      for (const id of ids.slice(0, 2)) {
        await finished
          .locator(`[data-session-id='${id}'] .badge[data-state='stopped']`)
          .waitFor({ timeout: WAIT.long });
        assert.equal(await live.locator(`[data-session-id='${id}']`).count(), 0);
      }
      // A routine reason is a neutral sentence, not a warning.
      const reason = finished.locator(`[data-session-id='${ids[0]}'] .reason`);
      assert.equal(await reason.getAttribute("data-problem"), "false");
      assert.match((await reason.textContent()) ?? "", /^[A-Z].*\.$/);
      await shot(u, "3-user-sessions");
      await u.getByRole("button", { name: "Clear stopped" }).click();
      await u.getByText("Deleted 2 sessions.").waitFor({ timeout: WAIT.long });
      await finished.waitFor({ state: "detached" });
      const left = await sessionsOf(umaLogin.token, { mine: true });
      assert.deepEqual(
        left.map((s) => s.id),
        [ids[2]],
      );
    });

    await t.test("a user manages their own API keys", async () => {
      await u.getByRole("link", { name: "API keys", exact: true }).click();
      await u.getByText("You have no API keys").waitFor();
      await u.getByRole("button", { name: "Create key" }).click();
      await u.getByText("name: is required; name the key after where it is used.").waitFor();
      await u.getByLabel("Key name").fill("uma-ci");
      await u.getByLabel("Lifetime").selectOption("30 days");
      await u.getByRole("button", { name: "Create key" }).click();
      await u.getByTestId("new-key").waitFor();
      await u.locator("tr[data-key='uma-ci']").waitFor();
      assert.equal(await u.getByLabel("Whose keys").count(), 0, "only admins pick another user");
    });

    // ---------------------------------------------------------------- as an operator
    const ottoLogin = await apiLogin(url, "otto", "otto-password-1");
    const otto = await signIn(browser, url, "otto", "otto-password-1");
    people.push(otto);
    const o = otto.page;

    await t.test("an operator reads users and agents but cannot change them", async () => {
      const nav = o.locator("nav.nav");
      for (const label of ["All sessions", "Users", "Templates", "Agents", "API keys"]) {
        await nav.getByRole("link", { name: label, exact: true }).waitFor();
      }
      assert.equal(await nav.getByRole("link", { name: "Audit", exact: true }).count(), 0);
      await nav.getByRole("link", { name: "Users", exact: true }).click();
      await o.locator("tr[data-user='uma']").waitFor();
      assert.equal(await o.getByRole("form", { name: "New user" }).count(), 0);
      assert.equal(await o.getByRole("button", { name: /Disable|Reset password/ }).count(), 0);
      await nav.getByRole("link", { name: "Agents", exact: true }).click();
      await o.locator("tr[data-agent-id='local-1'] .badge[data-state='online']").waitFor();
      assert.equal(await o.getByRole("button", { name: /Approve|Revoke|Drain/ }).count(), 0);
      await assertStaffCallsRefused(url, ottoLogin.token, "operator", admin.userId);
    });

    await t.test("an operator creates and retires a template", async () => {
      await o.getByRole("link", { name: "Templates", exact: true }).click();
      await o.getByRole("button", { name: "+ New template" }).click();
      const form = o.getByRole("form", { name: "New template" });
      await form.getByLabel("Name (lowercase, used in the API)").fill("ops-desktop");
      await form.getByLabel("Image or program").fill("builtin:demo");
      await form.getByRole("button", { name: "Create template" }).click();
      const row = o.locator("tr[data-template-row='ops-desktop']");
      await row.waitFor();
      await row.getByRole("button", { name: "Retire" }).click();
      await row.waitFor({ state: "detached" });
    });

    await t.test(
      "an operator filters all sessions and hibernates, stops and deletes in bulk",
      async () => {
        // Sessions of three people; all running before the bulk actions (uma 2, admin 2, otto 1).
        await launch(admin.token);
        await launch(ottoLogin.token);
        await launch(umaLogin.token);
        await eventually(
          async () => {
            const all = await sessionsOf(ottoLogin.token);
            assert.equal(all.length, 5);
            assert.ok(
              all.every((s) => s.state === "running"),
              all.map((s) => s.state).join(),
            );
          },
          { timeoutMs: WAIT.slow, intervalMs: 250 },
        );
        // From an agent's load on the agents page to its sessions.
        await o.getByRole("link", { name: "Agents", exact: true }).click();
        await o
          .locator("tr[data-agent-id='local-1']")
          .getByRole("link", { name: "5 / ", exact: false })
          .click();
        await o.waitForURL(/#\/console\?agent=local-1$/);
        assert.equal(await o.getByLabel("Agent").inputValue(), "local-1");
        const table = o.getByTestId("console-sessions");
        await eventually(async () => assert.equal(await table.locator("tbody tr").count(), 5));
        await o.getByLabel("Agent").selectOption("");
        await eventually(async () => assert.equal(await table.locator("tbody tr").count(), 5));

        // Filters: by user, by agent, by state.
        await o.getByLabel("User").selectOption("uma");
        await eventually(async () => {
          const owners = await table
            .locator("td[data-owner]")
            .evaluateAll((tds) => tds.map((td) => td.getAttribute("data-owner")));
          assert.deepEqual(owners, [umaLogin.userId, umaLogin.userId]);
        });
        await o.getByLabel("User").selectOption("");
        await o.getByLabel("Agent").selectOption("local-1");
        await eventually(async () => assert.equal(await table.locator("tbody tr").count(), 5));
        await o.getByLabel("State").selectOption("stopped");
        await o.getByText("No sessions match").waitFor();
        await o.getByLabel("State").selectOption("running");
        await eventually(async () => assert.equal(await table.locator("tbody tr").count(), 5));

        // Bulk: hibernate everything on the page, then stop, then delete.
        await o.getByLabel("State").selectOption("");
        await eventually(async () => assert.equal(await table.locator("tbody tr").count(), 5));
        await o.getByLabel("Select all on this page").check();
        await o.getByRole("button", { name: "Hibernate (5)" }).waitFor();
        // The README's picture: five sessions of three people, all selected for a bulk action.
        await shot(o, "4-all-sessions");
        if (process.env.UPDATE_SCREENSHOTS === "1") {
          mkdirSync(join(ROOT, "docs"), { recursive: true });
          copyFileSync(
            join(ARTIFACTS, "console-4-all-sessions.png"),
            join(ROOT, "docs/screenshot-console.png"),
          );
        }
        await o.getByRole("button", { name: "Hibernate (5)" }).click();
        await o.getByText("Hibernated 5 sessions.").waitFor({ timeout: WAIT.long });
        await eventually(
          async () =>
            assert.ok((await sessionsOf(ottoLogin.token)).every((s) => s.state === "hibernated")),
          { timeoutMs: WAIT.slow, intervalMs: 250 },
        );
        await o.getByLabel("Select all on this page").check();
        await o.getByRole("button", { name: "Stop (5)" }).click();
        await o.getByText("Stopped 5 sessions.").waitFor({ timeout: WAIT.long });
        await eventually(
          async () =>
            assert.ok((await sessionsOf(ottoLogin.token)).every((s) => s.state === "stopped")),
          { timeoutMs: WAIT.slow, intervalMs: 250 },
        );
        await o.getByLabel("Select all on this page").check();
        await o.getByRole("button", { name: "Delete (5)" }).click();
        await o.getByText("Deleted 5 sessions.").waitFor({ timeout: WAIT.long });
        await o.getByText("No sessions match").waitFor();
        assert.deepEqual(await sessionsOf(ottoLogin.token), []);
      },
    );

    // ---------------------------------------------------------------- admin again
    await t.test("admin revokes another user's key and then the agent", async () => {
      await a.getByRole("link", { name: "API keys", exact: true }).click();
      await a.getByLabel("Whose keys").selectOption("uma");
      const row = a.locator("tr[data-key='uma-ci']");
      await row.getByRole("button", { name: "Revoke" }).click();
      await a.getByText("uma has no API keys").waitFor();
      const umaKeys = await trpcCall(url, umaLogin.token, "query", "apiKeys.list", {});
      assert.deepEqual(trpcData<{ apiKeys: unknown[] }>(umaKeys).apiKeys, []);

      await a.getByRole("link", { name: "Audit", exact: true }).click();
      await a.getByText("user.reset_password").first().waitFor();

      await a.getByRole("link", { name: "Agents", exact: true }).click();
      const agent = a.locator("tr[data-agent-id='local-1']");
      await agent.getByRole("button", { name: "Revoke" }).click();
      await agent.locator(".badge[data-state='revoked']").waitFor({ timeout: WAIT.long });
      assert.equal(await userIdOf("uma"), umaLogin.userId);
    });
  } catch (err) {
    for (const [i, p] of people.entries()) {
      await p.page
        .screenshot({ path: join(ARTIFACTS, `console-failure-${i}.png`) })
        .catch(() => {});
      process.stderr.write(`--- browser ${i} console ---\n${p.logs.slice(-30).join("\n")}\n`);
    }
    process.stderr.write(`--- system logs ---\n${logs.slice(-80).join("\n")}\n`);
    throw err;
  } finally {
    for (const p of people) await p.context.close().catch(() => {});
  }
});
