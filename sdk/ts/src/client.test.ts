/**
 * The SDK against a live control plane (control plane, relay and local agent on real Postgres,
 * started by the repository's launcher): every protocol and HTTP version, password and API-key
 * sign-in, refresh before expiry and after a refusal, typed errors, paging.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { type LiveControlPlane, startLiveControlPlane } from "../testing/live-control-plane.ts";
import type { TokenSet } from "./credentials.ts";
import { Code, isStreamSpaceError, StreamSpaceError } from "./errors.ts";
import { createStreamSpaceClient, type NodeClientOptions } from "./node.ts";
import { collect } from "./paginate.ts";

let cp: LiveControlPlane;
before(async () => {
  cp = await startLiveControlPlane();
});
after(async () => {
  await cp?.stop();
});

const client = (opts: Partial<NodeClientOptions> = {}) =>
  createStreamSpaceClient({ baseUrl: cp.url, ...opts });

async function rejectsWith(p: Promise<unknown>, code: Code, message: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isStreamSpaceError(err), `expected a StreamSpaceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.rawMessage, message);
    return true;
  });
}

describe("protocols", () => {
  const variants: Array<Pick<NodeClientOptions, "protocol" | "httpVersion">> = [
    { protocol: "grpc" },
    { protocol: "grpc-web", httpVersion: "1.1" },
    { protocol: "grpc-web", httpVersion: "2" },
    { protocol: "connect", httpVersion: "1.1" },
    { protocol: "connect", httpVersion: "2" },
  ];
  for (const v of variants) {
    test(`${v.protocol} over HTTP/${v.protocol === "grpc" ? "2" : v.httpVersion}: sign in, read, create, stop`, async () => {
      const c = client(v);
      const me = await c.signIn(cp.username, cp.password);
      assert.equal(me.username, "admin");
      assert.equal((await c.auth.whoAmI({})).user?.id, me.id);
      const names = (await collect(c.listTemplates())).map((t) => t.name);
      assert.ok(names.includes("demo-desktop"), names.join(","));
      const { session } = await c.sessions.createSession({ template: "demo-desktop" });
      assert.ok(session?.id);
      const got = await c.sessions.getSession({ id: session.id });
      assert.equal(got.session?.ownerId, me.id);
      await c.sessions.stopSession({ id: session.id });
    });
  }
});

describe("errors", () => {
  test("a wrong password, no credential and an unknown id are typed errors with the server's words", async () => {
    const c = client();
    await rejectsWith(c.signIn(cp.username, "not-the-password"), Code.Unauthenticated, /password/i);
    await rejectsWith(c.sessions.listSessions({}), Code.Unauthenticated, /Sign in first/);
    await c.signIn(cp.username, cp.password);
    const missing = "00000000-0000-4000-8000-000000000000";
    await assert.rejects(c.sessions.getSession({ id: missing }), (err: unknown) => {
      assert.ok(err instanceof StreamSpaceError);
      assert.equal(err.codeName, "not_found");
      assert.match(err.rawMessage, new RegExp(missing));
      return true;
    });
    await rejectsWith(c.sessions.getSession({ id: "nope" }), Code.InvalidArgument, /^id: /);
  });

  test("a server that cannot be reached is Unavailable, after the read retries", async () => {
    const c = createStreamSpaceClient({
      baseUrl: "http://127.0.0.1:9",
      retry: { attempts: 2, initialDelayMs: 1 },
    });
    c.useApiKey("ssk_unused");
    await rejectsWith(c.templates.listTemplates({}), Code.Unavailable, /./);
  });
});

describe("credentials", () => {
  test("an API key created by a signed-in user works alone and stops working once revoked", async () => {
    const admin = client();
    await admin.signIn(cp.username, cp.password);
    const created = await admin.auth.createApiKey({ name: "sdk-test" });
    assert.match(created.secret, /^ssk_/);
    const withKey = client({ apiKey: created.secret, protocol: "connect" });
    assert.equal((await withKey.auth.whoAmI({})).user?.username, "admin");
    await collect(withKey.listSessions({}, { limit: 5 }));
    await admin.auth.revokeApiKey({ id: created.apiKey!.id });
    await rejectsWith(withKey.auth.whoAmI({}), Code.Unauthenticated, /./);
  });

  test("the access token is refreshed before it expires, once for many concurrent calls", async () => {
    let now = Date.now();
    const seen: Array<TokenSet | undefined> = [];
    const c = client({ now: () => now, onTokens: (t) => seen.push(t) });
    await c.signIn(cp.username, cp.password);
    const first = c.tokens()!;
    // 30 s before expiry (inside the default 60 s margin): the next calls must refresh first.
    now = first.accessExpiresAt.getTime() - 30_000;
    await Promise.all(Array.from({ length: 5 }, () => c.auth.whoAmI({})));
    assert.equal(seen.length, 2, "one sign-in and exactly one refresh");
    const second = c.tokens()!;
    assert.notEqual(second.accessToken, first.accessToken);
    assert.notEqual(second.refreshToken, first.refreshToken);
    // The used refresh token is spent: replaying it is refused (and revokes the family).
    await rejectsWith(
      c.auth.refresh({ refreshToken: first.refreshToken }),
      Code.Unauthenticated,
      /already used/,
    );
  });

  test("a refused access token is refreshed and the call repeated once", async () => {
    const c = client({ protocol: "grpc-web" });
    await c.signIn(cp.username, cp.password);
    const t = c.tokens()!;
    const seen: TokenSet[] = [];
    const resumed = client({
      protocol: "grpc-web",
      // A token the server cannot verify, as after a JWT secret rotation.
      tokens: { ...t, accessToken: `${t.accessToken.slice(0, -4)}AAAA` },
      onTokens: (x) => x && seen.push(x),
    });
    assert.equal((await resumed.auth.whoAmI({})).user?.username, "admin");
    assert.equal(seen.length, 2, "the resumed pair, then the refreshed one");
    await resumed.signOut();
    assert.equal(resumed.tokens(), undefined);
    await rejectsWith(resumed.auth.whoAmI({}), Code.Unauthenticated, /Sign in first/);
  });
});

describe("paging", () => {
  test("list helpers walk every page and stop at a limit", async () => {
    const c = client();
    await c.signIn(cp.username, cp.password);
    for (let i = 0; i < 5; i++) {
      await c.templates.createTemplate({
        template: { name: `paging-${i}`, image: "builtin:demo", platform: 1 },
      });
    }
    const all = await collect(c.listTemplates({ pageSize: 2 }));
    const names = all.map((t) => t.name);
    for (let i = 0; i < 5; i++) assert.ok(names.includes(`paging-${i}`), names.join(","));
    assert.equal(new Set(all.map((t) => t.id)).size, all.length, "no template twice");
    assert.equal((await collect(c.listTemplates({ pageSize: 2, limit: 3 }))).length, 3);
    const users = await collect(c.listUsers({ pageSize: 1 }));
    assert.ok(users.some((u) => u.username === "admin"));
    const agents = await collect(c.listAgents());
    assert.ok(
      agents.some((a) => a.id === "local-1"),
      "the local agent is listed",
    );
  });
});

describe("package", () => {
  test("the built package (dist/, by its export map) runs in plain Node without a TypeScript loader", () => {
    const dir = resolve(import.meta.dirname, "..");
    execFileSync(
      process.execPath,
      [resolve(dir, "../../node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      { cwd: dir, stdio: "inherit" },
    );
    const script = `
      import { createStreamSpaceClient, collect } from "@streamspace/sdk";
      const [baseUrl, user, password] = process.argv.slice(1);
      const c = createStreamSpaceClient({ baseUrl });
      await c.signIn(user, password);
      console.log((await collect(c.listTemplates())).map((t) => t.name).join(","));
    `;
    const out = execFileSync(
      process.execPath,
      ["--input-type=module", "-e", script, cp.url, cp.username, cp.password],
      // No tsx here: Node resolves the package to dist/node.js through its own export map.
      { cwd: dir, env: { ...process.env, NODE_OPTIONS: "" }, encoding: "utf8" },
    );
    assert.match(out, /demo-desktop/);
  });
});

describe("example", () => {
  test("the quickstart example runs as documented", () => {
    const example = resolve(import.meta.dirname, "../examples/quickstart.ts");
    const env = {
      ...process.env,
      STREAMSPACE_URL: cp.url,
      STREAMSPACE_USER: cp.username,
      STREAMSPACE_PASSWORD: cp.password,
    };
    const run = (password: string) =>
      spawnSync(process.execPath, ["--import", "tsx", example], {
        env: { ...env, STREAMSPACE_PASSWORD: password },
        encoding: "utf8",
        timeout: 120_000,
      });
    const ok = run(cp.password);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /state RUNNING/);
    assert.match(ok.stdout, /viewer http:\/\/.*\/vnc\//);
    const bad = run("wrong");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^unauthenticated: /);
  });
});
