/**
 * Fuzzing every tRPC query and mutation with arbitrary JSON inputs (random values, and objects
 * with the fields the procedures expect holding random values), signed in as an admin and
 * anonymously, over HTTP exactly as the browser sends them. Seeded (FUZZ_SEED, FUZZ_RUNS).
 * Properties: never HTTP 500 / INTERNAL_SERVER_ERROR, the pod stays healthy, nothing is left
 * unhandled, the heap after GC stays bounded.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { startTestControlPlane, type TestControlPlane } from "../testing/test-control-plane.ts";
import { appRouter } from "../trpc/router.ts";
import { fuzzParams, heapAfterGc, watchUnhandled } from "./fuzz-test-kit.ts";

let cp: TestControlPlane;
let heapBefore = 0;
const unhandled = watchUnhandled();

before(async () => {
  cp = await startTestControlPlane({ env: { RATE_LIMIT_USER_RPS: "0" } });
  heapBefore = heapAfterGc();
});
after(async () => cp?.close());

const procedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
)
  .filter(([, p]) => p._def.type !== "subscription")
  .map(([path, p]) => ({ path, type: p._def.type }));

/** Field names the procedures read, so random values reach past "unknown key" handling. */
const KEYS = [
  "id",
  "sessionId",
  "template",
  "displayName",
  "region",
  "labels",
  "pageSize",
  "pageToken",
  "states",
  "mine",
  "username",
  "password",
  "refreshToken",
  "actorId",
  "action",
  "targetId",
];
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.uuid(),
  fc.constantFrom("demo-desktop", "", "\u0000", "x".repeat(3000), -1, 1e308, 2 ** 53 + 1),
);
const input = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 6 }),
  fc.constant(undefined),
);

describe("tRPC procedures under arbitrary inputs (fuzz)", () => {
  test("no input makes any procedure answer a server error", async () => {
    const token = await cp.adminToken();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...procedures),
        input,
        fc.boolean(),
        async (proc, body, anonymous) => {
          // Logout would revoke the shared admin token; it is fuzzed anonymously only.
          const signedIn = !anonymous && proc.path !== "auth.logout";
          const headers: Record<string, string> = signedIn
            ? { authorization: `Bearer ${token}` }
            : {};
          const json = body === undefined ? undefined : JSON.stringify(body);
          const res =
            proc.type === "query"
              ? await fetch(
                  `${cp.url}/trpc/${proc.path}${json === undefined ? "" : `?input=${encodeURIComponent(json)}`}`,
                  { headers },
                )
              : await fetch(`${cp.url}/trpc/${proc.path}`, {
                  method: "POST",
                  headers: { ...headers, "content-type": "application/json" },
                  body: json,
                });
          const text = await res.text();
          assert.ok(res.status < 500, `${proc.path} answered HTTP ${res.status}: ${text}`);
          assert.ok(!text.includes("INTERNAL_SERVER_ERROR"), `${proc.path}: ${text}`);
        },
      ),
      fuzzParams(400),
    );
  });

  test("afterwards: the pod is healthy, nothing was left unhandled, the heap is bounded", async () => {
    assert.equal((await fetch(`${cp.url}/health`)).status, 200);
    assert.deepEqual(unhandled.stop(), []);
    const grown = heapAfterGc() - heapBefore;
    assert.ok(grown < 96 * 1024 * 1024, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  });
});
