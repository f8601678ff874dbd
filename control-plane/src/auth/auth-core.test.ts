import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DomainError } from "../domain/errors.ts";
import { ACCESS_TOKEN_TTL_MS } from "./access-tokens.ts";
import { REFRESH_TOKEN_TTL_MS } from "./auth-core.ts";
import type { AuthStore } from "./auth-ports.ts";
import {
  type AuthTestDb,
  createAuthTestDb,
  createPod,
  manualClock,
  seedUser,
} from "./auth-test-kit.ts";

const PW = "correct horse battery";

async function rejects(p: Promise<unknown>, code: DomainError["code"], message?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DomainError, `expected DomainError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe("AuthCore on real Postgres", () => {
  let fixture: AuthTestDb;
  let db: AuthTestDb["db"];
  let store: AuthStore;
  before(async () => {
    fixture = await createAuthTestDb();
    db = fixture.db;
    store = fixture.store;
    await seedUser(store, "alice", "user", PW);
    await seedUser(store, "dora", "user", PW);
    await db.updateTable("users").set({ disabled: true }).where("username", "=", "dora").execute();
  });
  after(() => fixture[Symbol.asyncDispose]());

  it("logs in with the right password and authenticates the access token", async () => {
    const { auth } = createPod(store);
    const { tokens, user } = await auth.login({ username: "alice", password: PW });
    assert.equal(user.username, "alice");
    assert.equal(user.role, "user");
    assert.match(tokens.refreshToken, /^ssr_/);
    const p = await auth.authenticate(`Bearer ${tokens.accessToken}`);
    assert.equal(p.kind, "user");
    assert.equal(p.kind === "user" && p.userId, user.id);
    assert.equal(p.kind === "user" && p.via, "access_token");
    // The scheme is case-insensitive (RFC 6750).
    assert.equal((await auth.authenticate(`bearer ${tokens.accessToken}`)).kind, "user");
    assert.equal((await auth.authenticate(undefined)).kind, "anonymous");
    assert.equal((await auth.authenticate("")).kind, "anonymous");
  });

  it("refuses a wrong password and an unknown user with the same message", async () => {
    const { auth } = createPod(store);
    await rejects(
      auth.login({ username: "alice", password: "wrong password" }),
      "unauthenticated",
      /Wrong username or password/,
    );
    await rejects(
      auth.login({ username: "nobody", password: PW }),
      "unauthenticated",
      /Wrong username or password/,
    );
  });

  it("refuses bad input with the field name", async () => {
    const { auth } = createPod(store);
    await rejects(auth.login({ username: "", password: PW }), "invalid_argument", /^username: /);
    await rejects(
      auth.login({ username: "alice", password: "x".repeat(300) }),
      "invalid_argument",
      /^password: /,
    );
    await rejects(auth.refresh({ refreshToken: "" }), "invalid_argument", /^refresh_token: /);
  });

  it("tells a disabled user so, but only with the right password", async () => {
    const { auth } = createPod(store);
    await rejects(auth.login({ username: "dora", password: PW }), "permission_denied", /disabled/);
    await rejects(auth.login({ username: "dora", password: "nope nope" }), "unauthenticated");
  });

  it("rotates refresh tokens and revokes the whole family when a rotated one is replayed", async () => {
    const { auth } = createPod(store);
    const first = await auth.login({ username: "alice", password: PW });
    const second = await auth.refresh({ refreshToken: first.tokens.refreshToken });
    assert.notEqual(second.refreshToken, first.tokens.refreshToken);
    const third = await auth.refresh({ refreshToken: second.refreshToken });
    // Replaying the first (already rotated) token is theft: everything from that login dies.
    await rejects(
      auth.refresh({ refreshToken: first.tokens.refreshToken }),
      "unauthenticated",
      /already used/,
    );
    await rejects(auth.refresh({ refreshToken: third.refreshToken }), "unauthenticated", /revoked/);
    await rejects(auth.authenticate(`Bearer ${third.accessToken}`), "unauthenticated", /revoked/);
    // Another login (another family) is untouched.
    const other = await auth.login({ username: "alice", password: PW });
    assert.equal((await auth.authenticate(`Bearer ${other.tokens.accessToken}`)).kind, "user");
  });

  it("refuses unknown, expired and disabled-user refresh tokens", async () => {
    const clock = manualClock();
    const { auth } = createPod(store, { now: clock.now });
    await rejects(
      auth.refresh({ refreshToken: "ssr_not-a-real-token" }),
      "unauthenticated",
      /not valid/,
    );
    const { tokens } = await auth.login({ username: "alice", password: PW });
    clock.advance(REFRESH_TOKEN_TTL_MS + 1000);
    await rejects(
      auth.refresh({ refreshToken: tokens.refreshToken }),
      "unauthenticated",
      /expired/,
    );
  });

  it("expired, tampered and foreign access tokens are Unauthenticated with the reason", async () => {
    const clock = manualClock();
    const { auth } = createPod(store, { now: clock.now });
    const { tokens } = await auth.login({ username: "alice", password: PW });
    const [h, payload, sig] = tokens.accessToken.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, role: "admin" })).toString("base64url");
    await rejects(
      auth.authenticate(`Bearer ${h}.${forged}.${sig}`),
      "unauthenticated",
      /not valid/,
    );
    await rejects(
      auth.authenticate(`Bearer ${h}.${payload}.${sig.slice(0, -4)}AAAA`),
      "unauthenticated",
      /not valid/,
    );
    await rejects(auth.authenticate("Bearer not.a.jwt"), "unauthenticated", /not valid/);
    await rejects(auth.authenticate("Basic YWxpY2U6cHc="), "unauthenticated", /Bearer/);
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`;
    await rejects(auth.authenticate(`Bearer ${none}`), "unauthenticated", /not valid/);
    clock.advance(ACCESS_TOKEN_TTL_MS + 1000);
    await rejects(
      auth.authenticate(`Bearer ${tokens.accessToken}`),
      "unauthenticated",
      /expired; call AuthService\.Refresh/,
    );
  });

  it("a disabled user's live token is PermissionDenied, and the role comes from the database", async () => {
    const { auth } = createPod(store);
    const id = await seedUser(store, "carol", "operator", PW);
    const { tokens } = await auth.login({ username: "carol", password: PW });
    await db.updateTable("users").set({ role: "user" }).where("id", "=", id).execute();
    const p = await auth.authenticate(`Bearer ${tokens.accessToken}`);
    assert.equal(p.kind === "user" && p.role, "user");
    await db.updateTable("users").set({ disabled: true }).where("id", "=", id).execute();
    await rejects(
      auth.authenticate(`Bearer ${tokens.accessToken}`),
      "permission_denied",
      /disabled/,
    );
  });

  it("logout refuses another user's refresh token", async () => {
    const { auth } = createPod(store);
    const alice = await auth.login({ username: "alice", password: PW });
    await seedUser(store, "bob", "user", PW);
    const bob = await auth.login({ username: "bob", password: PW });
    const bobP = await auth.authenticate(`Bearer ${bob.tokens.accessToken}`);
    await rejects(
      auth.logout(bobP, { refreshToken: alice.tokens.refreshToken }),
      "permission_denied",
    );
    assert.ok(await auth.refresh({ refreshToken: alice.tokens.refreshToken }));
  });

  it("WhoAmI returns the current row and requires a user", async () => {
    const { auth } = createPod(store);
    const { tokens } = await auth.login({ username: "alice", password: PW });
    const me = await auth.whoAmI(await auth.authenticate(`Bearer ${tokens.accessToken}`));
    assert.equal(me.username, "alice");
    await rejects(auth.whoAmI({ kind: "anonymous" }), "unauthenticated", /Sign in first/);
  });
});
