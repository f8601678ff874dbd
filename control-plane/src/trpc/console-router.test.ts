/**
 * The console's procedures (users, API keys, template writes) over the real services and a
 * fresh Postgres database, through HTTP exactly as the browser calls them: the views carry
 * what the pages need and never a secret, and each role gets what control-plane/README.md
 * ("Roles") promises.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TRPCClientError } from "@trpc/client";
import { startTrpcFixture } from "./trpc-test-kit.ts";

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError)
      return { code: String(err.data?.code), message: err.message };
    throw err;
  }
  throw new Error("expected the call to fail");
}

const template = (name: string, o: Record<string, unknown> = {}) => ({
  name,
  displayName: "Console test",
  description: "",
  image: "builtin:demo",
  command: ["--flag"],
  vncPort: 0,
  resources: { cpuMillis: 500, memoryBytes: 256 * 2 ** 20 },
  env: { A: "1" },
  idleTimeoutSeconds: 600,
  persistentHome: false,
  platform: "" as const,
  region: "",
  requiredLabels: {},
  ...o,
});

describe("console procedures", () => {
  test("users: admins manage, operators read, users are refused", async () => {
    await using fx = await startTrpcFixture();
    const root = (await fx.login("root")).client;
    const olga = (await fx.login("olga")).client;
    const alice = (await fx.login("alice")).client;

    const made = await root.users.create.mutate({
      username: "newbie",
      password: "long enough pw",
      displayName: "New Bie",
      role: "user",
    });
    assert.deepEqual(
      { username: made.username, displayName: made.displayName, disabled: made.disabled },
      { username: "newbie", displayName: "New Bie", disabled: false },
    );
    assert.ok(!("passwordHash" in made), "the view never carries the hash");
    const listed = await olga.users.list.query({ pageSize: 0, pageToken: "" });
    assert.ok(listed.users.some((u) => u.id === made.id));
    assert.equal(
      (await root.users.setRole.mutate({ id: made.id, role: "operator" })).role,
      "operator",
    );
    assert.equal((await root.users.disable.mutate({ id: made.id })).disabled, true);
    assert.equal((await root.users.enable.mutate({ id: made.id })).disabled, false);
    await root.users.resetPassword.mutate({ id: made.id, password: "another long pw" });
    const signedIn = await fx.client().auth.login.mutate({
      username: "newbie",
      password: "another long pw",
    });
    assert.equal(signedIn.user.id, made.id);

    for (const call of [
      () =>
        olga.users.create.mutate({
          username: "x-op",
          password: "long enough pw",
          displayName: "",
          role: "user",
        }),
      () => olga.users.resetPassword.mutate({ id: made.id, password: "long enough pw" }),
      () => olga.users.setRole.mutate({ id: made.id, role: "admin" }),
      () => alice.users.list.query({ pageSize: 0, pageToken: "" }),
      () => alice.users.disable.mutate({ id: made.id }),
    ]) {
      assert.equal((await refusal(call())).code, "FORBIDDEN");
    }
    const last = await refusal(root.users.disable.mutate({ id: fx.users.admin }));
    assert.equal(last.code, "PRECONDITION_FAILED");
    assert.match(last.message, /last enabled admin/);
  });

  test("API keys: own keys for everyone, anyone's for admins; the secret once", async () => {
    await using fx = await startTrpcFixture();
    const alice = (await fx.login("alice")).client;
    const bob = (await fx.login("bob")).client;
    const root = (await fx.login("root")).client;
    const { apiKey, secret } = await alice.apiKeys.create.mutate({ name: "ci", ttl: 3600 });
    assert.match(secret, /^ssk_/);
    assert.equal(apiKey.userId, fx.users.alice);
    assert.ok(apiKey.expireTime && !apiKey.lastUsedTime);
    const mine = await alice.apiKeys.list.query();
    assert.deepEqual(
      mine.apiKeys.map((k) => [k.id, k.name, "secret" in k]),
      [[apiKey.id, "ci", false]],
    );
    assert.equal(
      (await refusal(bob.apiKeys.list.query({ userId: fx.users.alice }))).code,
      "FORBIDDEN",
    );
    assert.equal((await refusal(bob.apiKeys.revoke.mutate({ id: apiKey.id }))).code, "NOT_FOUND");
    const seen = await root.apiKeys.list.query({ userId: fx.users.alice });
    assert.deepEqual(
      seen.apiKeys.map((k) => k.id),
      [apiKey.id],
    );
    await root.apiKeys.revoke.mutate({ id: apiKey.id });
    assert.deepEqual((await alice.apiKeys.list.query()).apiKeys, []);
    // A key cannot mint keys, whichever road it takes.
    const { secret: s2 } = await alice.apiKeys.create.mutate({ name: "other", ttl: 0 });
    const viaKey = fx.client(s2);
    assert.equal(
      (await refusal(viaKey.apiKeys.create.mutate({ name: "child", ttl: 0 }))).code,
      "FORBIDDEN",
    );
  });

  test("templates: operators create, edit every field and retire; users cannot", async () => {
    await using fx = await startTrpcFixture();
    const olga = (await fx.login("olga")).client;
    const alice = (await fx.login("alice")).client;
    const t = await olga.templates.create.mutate(template("console-t"));
    assert.deepEqual(
      [t.cpuMillis, t.memoryBytes, t.command, t.env, t.idleTimeoutSeconds],
      [500, 256 * 2 ** 20, ["--flag"], { A: "1" }, 600],
    );
    const edited = await olga.templates.update.mutate({
      ...template("console-t", { description: "edited", requiredLabels: { gpu: "yes" } }),
      id: t.id,
    });
    assert.equal(edited.description, "edited");
    assert.deepEqual(edited.requiredLabels, { gpu: "yes" });
    const dup = await refusal(olga.templates.create.mutate(template("console-t")));
    assert.equal(dup.code, "CONFLICT");
    assert.match(dup.message, /already exists/);
    const badId = await refusal(
      olga.templates.update.mutate({ ...template("console-t"), id: "nope" }),
    );
    assert.equal(badId.message, "template.id: must be a template id (a UUID).");
    assert.equal(
      (await refusal(alice.templates.create.mutate(template("mine")))).code,
      "FORBIDDEN",
    );
    assert.equal(
      (await refusal(alice.templates.delete.mutate({ id: "console-t" }))).code,
      "FORBIDDEN",
    );
    await olga.templates.delete.mutate({ id: "console-t" });
    const names = (await alice.templates.list.query()).templates.map((x) => x.name);
    assert.ok(!names.includes("console-t"));
  });
});
