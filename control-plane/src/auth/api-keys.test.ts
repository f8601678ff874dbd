import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DomainError } from "../domain/errors.ts";
import type { Principal } from "../domain/principal.ts";
import type { AuthStore } from "./auth-ports.ts";
import {
  type AuthTestDb,
  createAuthTestDb,
  createPod,
  manualClock,
  seedUser,
} from "./auth-test-kit.ts";
import { sha256 } from "./tokens-util.ts";

const PW = "correct horse battery";

async function rejects(p: Promise<unknown>, code: DomainError["code"], message?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DomainError, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe("API keys on real Postgres", () => {
  let fixture: AuthTestDb;
  let db: AuthTestDb["db"];
  let store: AuthStore;
  before(async () => {
    fixture = await createAuthTestDb();
    db = fixture.db;
    store = fixture.store;
    await seedUser(store, "alice", "user", PW);
    await seedUser(store, "bob", "user", PW);
    await seedUser(store, "root", "admin", PW);
  });
  after(() => fixture[Symbol.asyncDispose]());

  async function signIn(
    auth: ReturnType<typeof createPod>["auth"],
    name: string,
  ): Promise<Principal> {
    const { tokens } = await auth.login({ username: name, password: PW });
    return auth.authenticate(`Bearer ${tokens.accessToken}`);
  }

  it("creates a key shown once, stores only its hash, and authenticates as the owner", async () => {
    const { auth } = createPod(store);
    const alice = await signIn(auth, "alice");
    const { key, secret } = await auth.apiKeys.create(alice, { name: "ci", ttl: 0 });
    assert.match(secret, /^ssk_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.prefix, secret.slice(0, 12));
    assert.equal(key.expiresAt, null);
    const row = await db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", key.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.secret_hash, sha256(secret));
    assert.ok(!JSON.stringify(row).includes(secret), "the secret itself is never stored");
    const p = await auth.authenticate(`Bearer ${secret}`);
    assert.equal(p.kind === "user" && p.username, "alice");
    assert.equal(p.kind === "user" && p.via, "api_key");
    const listed = await auth.apiKeys.list(alice);
    assert.deepEqual(
      listed.map((k) => k.name),
      ["ci"],
    );
    assert.ok(listed[0]?.lastUsedAt, "authentication records last use");
  });

  it("a revoked key stops working; another user cannot revoke it", async () => {
    const { auth } = createPod(store);
    const alice = await signIn(auth, "alice");
    const bob = await signIn(auth, "bob");
    const { key, secret } = await auth.apiKeys.create(alice, { name: "laptop", ttl: 0 });
    await rejects(auth.apiKeys.revoke(bob, { id: key.id }), "not_found");
    assert.equal((await auth.authenticate(`Bearer ${secret}`)).kind, "user");
    await auth.apiKeys.revoke(alice, { id: key.id });
    await rejects(auth.authenticate(`Bearer ${secret}`), "unauthenticated", /revoked/);
    await rejects(auth.apiKeys.revoke(alice, { id: key.id }), "not_found");
    assert.ok(!(await auth.apiKeys.list(alice)).some((k) => k.id === key.id));
  });

  it("an admin may revoke anyone's key", async () => {
    const { auth } = createPod(store);
    const alice = await signIn(auth, "alice");
    const root = await signIn(auth, "root");
    const { key, secret } = await auth.apiKeys.create(alice, { name: "leaked", ttl: 0 });
    await auth.apiKeys.revoke(root, { id: key.id });
    await rejects(auth.authenticate(`Bearer ${secret}`), "unauthenticated");
  });

  it("an admin lists anyone's keys; others only their own", async () => {
    const { auth } = createPod(store);
    const alice = await signIn(auth, "alice");
    const bob = await signIn(auth, "bob");
    const root = await signIn(auth, "root");
    const aliceId = alice.kind === "user" ? alice.userId : "";
    const { key } = await auth.apiKeys.create(alice, { name: "ci", ttl: 0 });
    const seen = await auth.apiKeys.list(root, { userId: aliceId });
    assert.ok(seen.some((k) => k.id === key.id && k.userId === aliceId));
    assert.ok(!(await auth.apiKeys.list(root)).some((k) => k.id === key.id), "own by default");
    await rejects(
      auth.apiKeys.list(bob, { userId: aliceId }),
      "permission_denied",
      /Only admins can list another user's API keys/,
    );
    assert.ok((await auth.apiKeys.list(alice, { userId: aliceId })).some((k) => k.id === key.id));
    await rejects(auth.apiKeys.list(root, { userId: "nope" }), "invalid_argument", /^user_id:/);
  });

  it("a key expires after its ttl", async () => {
    const clock = manualClock();
    const { auth } = createPod(store, { now: clock.now });
    const alice = await signIn(auth, "alice");
    const { key, secret } = await auth.apiKeys.create(alice, { name: "short", ttl: 120 });
    assert.equal(key.expiresAt?.getTime(), clock.now() + 120_000);
    assert.equal((await auth.authenticate(`Bearer ${secret}`)).kind, "user");
    clock.advance(121_000);
    await rejects(auth.authenticate(`Bearer ${secret}`), "unauthenticated", /expired/);
  });

  it("refuses unknown keys, bad input, and keys minting keys", async () => {
    const { auth } = createPod(store);
    await rejects(auth.authenticate("Bearer ssk_unknown"), "unauthenticated", /not valid/);
    const alice = await signIn(auth, "alice");
    await rejects(auth.apiKeys.create(alice, { name: "", ttl: 0 }), "invalid_argument", /^name: /);
    await rejects(auth.apiKeys.create(alice, { name: "x", ttl: 5 }), "invalid_argument", /^ttl: /);
    await rejects(
      auth.apiKeys.create(alice, { name: "x", ttl: -60 }),
      "invalid_argument",
      /^ttl: /,
    );
    await rejects(
      auth.apiKeys.revoke(alice, { id: "not-a-uuid" }),
      "invalid_argument",
      /^id: must be a UUID/,
    );
    await rejects(
      auth.apiKeys.revoke(alice, { id: "00000000-0000-4000-8000-000000000000" }),
      "not_found",
    );
    const { secret } = await auth.apiKeys.create(alice, { name: "sdk", ttl: 0 });
    const viaKey = await auth.authenticate(`Bearer ${secret}`);
    await rejects(
      auth.apiKeys.create(viaKey, { name: "child", ttl: 0 }),
      "permission_denied",
      /API keys cannot/,
    );
    await rejects(auth.apiKeys.list({ kind: "anonymous" }), "unauthenticated");
  });

  it("a disabled owner's key is PermissionDenied", async () => {
    const { auth } = createPod(store);
    const id = await seedUser(store, "erin", "user", PW);
    const erin = await signIn(auth, "erin");
    const { secret } = await auth.apiKeys.create(erin, { name: "k", ttl: 0 });
    await db.updateTable("users").set({ disabled: true }).where("id", "=", id).execute();
    await rejects(auth.authenticate(`Bearer ${secret}`), "permission_denied", /disabled/);
  });
});
