import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createHealthHandler, healthOnly } from "./health.ts";
import { listen, sendJson } from "./listener.ts";
import { createMetrics } from "./metrics.ts";

describe("health", () => {
  test("/health, /ready and /metrics answer; readiness decides 200 or 503", async () => {
    let ready = false;
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.gauge("streamspace_vnc_connections_active", "v", { collect: () => 4 });
    const health = createHealthHandler({
      health: () => ({ version: "1.2.3", sessions: 2n }),
      ready: () => ({ ready, draining: !ready }),
      metrics,
    });
    await using l = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: (req, res) => {
        void health(req, res).then((ok) => ok || sendJson(res, 404, { error: "elsewhere" }));
      },
    });
    const h = await fetch(`${l.url}/health?probe=1`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: "ok", version: "1.2.3", sessions: "2" });
    const r1 = await fetch(`${l.url}/ready`);
    assert.equal(r1.status, 503);
    assert.deepEqual(await r1.json(), { ready: false, draining: true });
    ready = true;
    assert.equal((await fetch(`${l.url}/ready`)).status, 200);
    const m = await fetch(`${l.url}/metrics`);
    assert.match(m.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await m.text(), /^streamspace_vnc_connections_active 4$/m);
    assert.equal((await fetch(`${l.url}/other`)).status, 404);
    assert.equal((await fetch(`${l.url}/health`, { method: "POST" })).status, 405);
  });

  test("a failing check still answers: 503 for /ready, 500 for /health", async () => {
    const health = createHealthHandler({
      health: () => {
        throw new Error("boom");
      },
      ready: async () => {
        throw new Error("db down");
      },
    });
    await using l = await listen({ host: "127.0.0.1", port: 0, onRequest: healthOnly(health) });
    const r = await fetch(`${l.url}/ready`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { error: "db down" });
    assert.equal((await fetch(`${l.url}/health`)).status, 500);
  });

  test("healthOnly answers 404 elsewhere, and /metrics only with a registry", async () => {
    const health = createHealthHandler({ health: () => ({}), ready: () => ({ ready: true }) });
    await using l = await listen({ host: "127.0.0.1", port: 0, onRequest: healthOnly(health) });
    const r = await fetch(`${l.url}/metrics`);
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { error: "try /health, /ready or /metrics" });
    assert.equal((await fetch(`${l.url}/health`)).status, 200);
  });
});
