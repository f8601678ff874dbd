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
import { FREE_FAILURES, lockDurationMs, MAX_LOCK_MS } from "./login-throttle.ts";

const PW = "correct horse battery";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    assert.ok(err instanceof DomainError, String(err));
    return err.code;
  }
}

describe("login throttle on real Postgres", () => {
  let fixture: AuthTestDb;
  let db: AuthTestDb["db"];
  let store: AuthStore;
  before(async () => {
    fixture = await createAuthTestDb();
    db = fixture.db;
    store = fixture.store;
  });
  after(() => fixture[Symbol.asyncDispose]());

  it("lock durations start after the free failures, double, and stop at the cap", () => {
    assert.equal(lockDurationMs(FREE_FAILURES - 1), 0);
    assert.equal(lockDurationMs(FREE_FAILURES), 30_000);
    assert.equal(lockDurationMs(FREE_FAILURES + 1), 60_000);
    assert.equal(lockDurationMs(FREE_FAILURES + 40), MAX_LOCK_MS);
  });

  it("pauses an account after repeated wrong passwords, even for the right one, until it expires", async () => {
    await seedUser(store, "erin", "user", PW);
    const clock = manualClock();
    const { auth } = createPod(store, { now: clock.now });
    const wrong = () => auth.login({ username: "erin", password: "guess" });
    for (let i = 0; i < FREE_FAILURES; i++) assert.equal(await code(wrong()), "unauthenticated");
    const right = auth.login({ username: "erin", password: PW });
    await assert.rejects(right, (err: unknown) => {
      assert.ok(err instanceof DomainError);
      assert.equal(err.code, "resource_exhausted");
      assert.match(err.message, /paused for 30 s/);
      return true;
    });
    // Guesses during the pause are not checked and do not lengthen it.
    assert.equal(await code(wrong()), "resource_exhausted");
    clock.advance(30_001);
    assert.equal(await code(auth.login({ username: "erin", password: PW })), "ok");
    // A good sign-in cleared the count: the next wrong password is a plain refusal again.
    assert.equal(await code(wrong()), "unauthenticated");
    const row = await db
      .selectFrom("users")
      .select(["failed_logins", "locked_until"])
      .where("username", "=", "erin")
      .executeTakeFirstOrThrow();
    assert.equal(row.failed_logins, 1);
    assert.equal(row.locked_until, null);
  });

  it("the pause is shared by every pod and lifted when an admin enables the account", async () => {
    const id = await seedUser(store, "fred", "user", PW);
    const clock = manualClock();
    const podA = createPod(store, { now: clock.now });
    const podB = createPod(store, { now: clock.now });
    for (let i = 0; i < FREE_FAILURES + 1; i++) {
      await code(podA.auth.login({ username: "fred", password: "guess" }));
      clock.advance(31_000); // each lock expires, so every guess is counted
    }
    assert.equal(
      await code(podB.auth.login({ username: "fred", password: PW })),
      "resource_exhausted",
    );
    const admin: Principal = {
      kind: "user",
      userId: "admin",
      username: "admin",
      role: "admin",
      via: "access_token",
    };
    await podB.users.enableUser(admin, { id });
    assert.equal(await code(podB.auth.login({ username: "fred", password: PW })), "ok");
  });

  it("unknown usernames are refused the same way and lock nothing", async () => {
    const { auth } = createPod(store);
    for (let i = 0; i < FREE_FAILURES + 2; i++) {
      assert.equal(
        await code(auth.login({ username: "nobody", password: "x" })),
        "unauthenticated",
      );
    }
  });
});
