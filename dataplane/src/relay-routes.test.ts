/** The relay's plain routes: probes that reflect draining and ring state, a guarded debug view. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { listen } from "@streamspace/common/listener";
import { AgentRegistry } from "./agent-registry.ts";
import { staticMembership } from "./membership.ts";
import { RelayMetrics } from "./metrics.ts";
import { createRelayRoutes } from "./relay-routes.ts";

describe("relay routes", () => {
  it("answers probes, metrics and a token-guarded debug view", async () => {
    const metrics = new RelayMetrics("r1");
    const registry = new AgentRegistry("r1", () => {}, true);
    const membership = staticMembership({ id: "r1", url: "http://127.0.0.1:1" }, []);
    const state = { draining: false, joined: true };
    const token = "0123456789abcdef";
    await using l = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: createRelayRoutes({
        relayId: "r1",
        metrics,
        registry,
        membership: () => membership,
        state: () => state,
        debugToken: token,
      }),
    });
    metrics.connectionsActive = 2;
    assert.deepEqual(await (await fetch(`${l.url}/health`)).json(), {
      status: "ok",
      relay: "r1",
      viewers: 2,
      agents: 0,
    });
    const ready = await fetch(`${l.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      ready: true,
      draining: false,
      inRing: true,
      epoch: "1",
    });
    state.draining = true;
    assert.equal((await fetch(`${l.url}/ready`)).status, 503);
    assert.match(
      await (await fetch(`${l.url}/metrics`)).text(),
      /^streamspace_vnc_connections_active\{relay="r1"\} 2$/m,
    );
    assert.equal((await fetch(`${l.url}/debug/sessions`)).status, 401);
    const wrong = await fetch(`${l.url}/debug/sessions`, {
      headers: { authorization: "Bearer 0123456789abcdeX" },
    });
    assert.equal(wrong.status, 401);
    const dbg = await fetch(`${l.url}/debug/sessions`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.deepEqual(await dbg.json(), { relay: "r1", sessions: [] });
    assert.equal((await fetch(`${l.url}/nope`)).status, 404);
    registry.close();
  });

  it("has no debug view without a token", async () => {
    const registry = new AgentRegistry("r1", () => {}, true);
    await using l = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: createRelayRoutes({
        relayId: "r1",
        metrics: new RelayMetrics("r1"),
        registry,
        membership: () => staticMembership({ id: "r1", url: "http://127.0.0.1:1" }, []),
        state: () => ({ draining: false, joined: true }),
      }),
    });
    assert.equal((await fetch(`${l.url}/debug/sessions`)).status, 404);
    registry.close();
  });
});
