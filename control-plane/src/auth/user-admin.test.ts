import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DomainError } from "../domain/errors.ts";
import type { Principal } from "../domain/principal.ts";
import type { AuthStore } from "./auth-ports.ts";
import {
  type AuthTestDb,
  createAuthTestDb,
  createPod,
  seedUser,
  TEST_SCRYPT,
} from "./auth-test-kit.ts";
import { bootstrapAdmin } from "./bootstrap-admin.ts";

const PW = "correct horse battery";

async function rejects(p: Promise<unknown>, code: DomainError["code"], message?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DomainError, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const as = (userId: string, role: "user" | "operator" | "admin", username = role): Principal => ({
  kind: "user",
  userId,
  username,
  role,
  via: "access_token",
});

describe("bootstrapAdmin", () => {
  it("creates admin once with ADMIN_PASSWORD, then never again", async () => {
    await using f = await createAuthTestDb();
    const lines: string[] = [];
    const r1 = await bootstrapAdmin(
      f.store.users,
      { ADMIN_PASSWORD: "s3cret-admin-pw" },
      { print: (l) => lines.push(l), scrypt: TEST_SCRYPT },
    );
    assert.equal(r1.created, true);
    assert.deepEqual(lines, [], "a chosen password is never printed");
    const { auth } = createPod(f.store);
    const { user } = await auth.login({ username: "admin", password: "s3cret-admin-pw" });
    assert.equal(user.role, "admin");
    const r2 = await bootstrapAdmin(
      f.store.users,
      { ADMIN_PASSWORD: "other-password" },
      { scrypt: TEST_SCRYPT },
    );
    assert.deepEqual(r2, { created: false, reason: "admin_exists" });
  });

  it("generates a password and prints it once in one line; concurrent pods create one admin", async () => {
    await using f = await createAuthTestDb();
    const lines: string[] = [];
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        bootstrapAdmin(f.store.users, {}, { print: (l) => lines.push(l), scrypt: TEST_SCRYPT }),
      ),
    );
    const created = results.filter((r) => r.created);
    assert.equal(created.length, 1);
    assert.equal(lines.length, 1);
    const pw = created[0]?.created ? created[0].generatedPassword : undefined;
    assert.ok(pw && lines[0]?.includes(pw) && !lines[0].includes("\n"));
    const { auth } = createPod(f.store);
    assert.equal((await auth.login({ username: "admin", password: pw })).user.role, "admin");
  });

  it("refuses a too-short ADMIN_PASSWORD naming the variable", async () => {
    await using f = await createAuthTestDb();
    await assert.rejects(
      bootstrapAdmin(f.store.users, { ADMIN_PASSWORD: "short" }),
      /ADMIN_PASSWORD must be at least 8/,
    );
  });
});

describe("UserAdmin on real Postgres", () => {
  let fixture: AuthTestDb;
  let db: AuthTestDb["db"];
  let store: AuthStore;
  let rootId: string;
  before(async () => {
    fixture = await createAuthTestDb();
    db = fixture.db;
    store = fixture.store;
    rootId = await seedUser(store, "root", "admin", PW);
  });
  after(() => fixture[Symbol.asyncDispose]());

  it("admins create users who can then sign in; duplicates are AlreadyExists", async () => {
    const { users, auth } = createPod(store);
    const root = as(rootId, "admin");
    const u = await users.createUser(root, {
      username: "newbie",
      password: "long enough pw",
      displayName: "",
      role: "user",
    });
    assert.equal(u.displayName, "newbie");
    assert.equal(
      (await auth.login({ username: "newbie", password: "long enough pw" })).user.id,
      u.id,
    );
    await rejects(
      users.createUser(root, {
        username: "newbie",
        password: "long enough pw",
        displayName: "",
        role: "user",
      }),
      "already_exists",
      /already exists/,
    );
  });

  it("refuses non-admins and bad input with the field", async () => {
    const { users } = createPod(store);
    const op = as(await seedUser(store, "oper", "operator"), "operator");
    // Operators read the list (sessions name their owners) but change nothing.
    assert.ok((await users.listUsers(op, { pageSize: 0, pageToken: "" })).users.length > 0);
    await rejects(
      users.listUsers(as(rootId, "user"), { pageSize: 0, pageToken: "" }),
      "permission_denied",
      /Only operators and admins/,
    );
    await rejects(
      users.resetPassword(op, { id: rootId, password: "long enough pw" }),
      "permission_denied",
      /Only admins/,
    );
    await rejects(
      users.listUsers({ kind: "anonymous" }, { pageSize: 0, pageToken: "" }),
      "unauthenticated",
    );
    const root = as(rootId, "admin");
    await rejects(
      users.createUser(root, {
        username: "Bad Name",
        password: "long enough pw",
        displayName: "",
        role: "user",
      }),
      "invalid_argument",
      /^username: must be lower-case/,
    );
    await rejects(
      users.createUser(root, {
        username: "shortpw",
        password: "short",
        displayName: "",
        role: "user",
      }),
      "invalid_argument",
      /^password: must be at least 8/,
    );
    await rejects(
      users.setUserRole(root, { id: rootId, role: undefined }),
      "invalid_argument",
      /^role: must be ROLE_USER/,
    );
    await rejects(users.disableUser(root, { id: "42" }), "invalid_argument", /^id: must be a UUID/);
    await rejects(
      users.enableUser(root, { id: "00000000-0000-4000-8000-000000000000" }),
      "not_found",
    );
    await rejects(
      users.listUsers(root, { pageSize: 501, pageToken: "" }),
      "invalid_argument",
      /^page_size: /,
    );
    await rejects(
      users.listUsers(root, { pageSize: 1, pageToken: "garbage" }),
      "invalid_argument",
      /page_token/,
    );
  });

  it("reset password: the new one works, the old one and every sign-in end, a pause lifts", async () => {
    const { users, auth } = createPod(store);
    const root = as(rootId, "admin");
    const id = await seedUser(store, "forgetful", "user", PW);
    const before = await auth.login({ username: "forgetful", password: PW });
    await store.users.update(id, { failedLogins: 9, lockedUntil: new Date(Date.now() + 3600_000) });
    const u = await users.resetPassword(root, { id, password: "brand new secret" });
    assert.equal(u.id, id);
    await rejects(auth.login({ username: "forgetful", password: PW }), "unauthenticated");
    const after = await auth.login({ username: "forgetful", password: "brand new secret" });
    assert.equal(after.user.id, id);
    await rejects(auth.refresh({ refreshToken: before.tokens.refreshToken }), "unauthenticated");
    await rejects(
      auth.authenticate(`Bearer ${before.tokens.accessToken}`),
      "unauthenticated",
      /revoked/,
    );
    await rejects(
      users.resetPassword(root, { id, password: "short" }),
      "invalid_argument",
      /^password: must be at least 8 characters\.$/,
    );
    await rejects(
      users.resetPassword(root, { id: "not-a-uuid", password: "long enough pw" }),
      "invalid_argument",
      /^id: must be a UUID/,
    );
    await rejects(
      users.resetPassword(root, {
        id: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        password: "long enough pw",
      }),
      "not_found",
    );
  });

  it("pages through users in username order", async () => {
    const { users } = createPod(store);
    const root = as(rootId, "admin");
    for (const n of ["pg-a", "pg-b", "pg-c"]) await seedUser(store, n, "user");
    const seen: string[] = [];
    let token = "";
    do {
      const page = await users.listUsers(root, { pageSize: 2, pageToken: token });
      assert.ok(page.users.length <= 2);
      seen.push(...page.users.map((u) => u.username));
      token = page.nextPageToken;
    } while (token);
    assert.deepEqual(seen, [...seen].sort());
    assert.ok(["pg-a", "pg-b", "pg-c", "root"].every((n) => seen.includes(n)));
    assert.equal(new Set(seen).size, seen.length);
  });

  it("disable stops sign-in and refresh; enable restores sign-in", async () => {
    const { users, auth } = createPod(store);
    const root = as(rootId, "admin");
    const id = await seedUser(store, "temp", "user", PW);
    const { tokens } = await auth.login({ username: "temp", password: PW });
    const d = await users.disableUser(root, { id });
    assert.equal(d.disabled, true);
    await rejects(auth.login({ username: "temp", password: PW }), "permission_denied");
    await rejects(
      auth.refresh({ refreshToken: tokens.refreshToken }),
      "unauthenticated",
      /revoked/,
    );
    await rejects(auth.authenticate(`Bearer ${tokens.accessToken}`), "permission_denied");
    await users.enableUser(root, { id });
    assert.ok(await auth.login({ username: "temp", password: PW }));
  });

  it("never disables or demotes the last enabled admin, even under a race", async () => {
    const { users } = createPod(store);
    const root = as(rootId, "admin");
    await rejects(
      users.disableUser(root, { id: rootId }),
      "failed_precondition",
      /last enabled admin/,
    );
    await rejects(
      users.setUserRole(root, { id: rootId, role: "operator" }),
      "failed_precondition",
      /last enabled admin/,
    );
    const second = await seedUser(store, "root2", "admin");
    // Two admins demote each other at once: exactly one succeeds.
    const results = await Promise.allSettled([
      users.setUserRole(root, { id: second, role: "user" }),
      users.setUserRole(as(second, "admin"), { id: rootId, role: "user" }),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const admins = await db
      .selectFrom("users")
      .select("id")
      .where("role", "=", "admin")
      .where("disabled", "=", false)
      .execute();
    assert.equal(admins.length, 1);
    if (admins[0]?.id !== rootId) rootId = admins[0]!.id;
  });
});
