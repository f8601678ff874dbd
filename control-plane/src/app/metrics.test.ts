import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { eventually, WAIT } from "@streamspace/common/testing";
import { AgentGateway } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import { ScriptedAgent } from "../gateway/gateway-test-kit.ts";
import { startTestControlPlane, type TestControlPlane } from "../testing/test-control-plane.ts";

let t: TestControlPlane;
before(async () => {
  t = await startTestControlPlane({ env: { AGENT_AUTO_APPROVE: "true" } });
});
after(async () => t?.close());

/** One sample of `name` with exactly these labels (undefined when absent). */
async function sample(name: string, labels = ""): Promise<number | undefined> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

function agent(id: string): ScriptedAgent {
  const client = createClient(AgentGateway, createGrpcTransport({ baseUrl: t.url }));
  const a = new ScriptedAgent(client, { "x-streamspace-bootstrap-token": "test-bootstrap-token" });
  a.send({
    case: "hello",
    value: { agentId: id, platform: Platform.LOCAL, capacity: { maxSessions: 4 } },
  });
  return a;
}

describe("the pod's DESIGN.md §8 gauges", () => {
  test("agent_heartbeat_last_seen: one series per held stream, gone with the stream", async () => {
    const before = Date.now() / 1000;
    await using a = agent("metrics-agent-1");
    await a.waitFor("welcome", 0, WAIT.long);
    const seen = await eventually(
      async () => {
        const v = await sample(
          "streamspace_agent_heartbeat_last_seen",
          'agent_id="metrics-agent-1"',
        );
        assert.ok(v !== undefined, "no series for the agent yet");
        return v;
      },
      { timeoutMs: WAIT.long },
    );
    assert.ok(seen >= Math.floor(before) && seen <= Date.now() / 1000 + 1, String(seen));
    assert.equal(await sample("streamspace_agents_connected"), 1);
    a.kill();
    await eventually(
      async () => {
        const v = await sample(
          "streamspace_agent_heartbeat_last_seen",
          'agent_id="metrics-agent-1"',
        );
        assert.equal(v, undefined, "the series outlived its stream");
        assert.equal(await sample("streamspace_agents_connected"), 0);
      },
      { timeoutMs: WAIT.long },
    );
  });

  test("sessions_active counts placed, unfinished sessions by state", async () => {
    await using a = agent("metrics-agent-2");
    await a.waitFor("welcome", 0, WAIT.long);
    assert.equal(await sample("streamspace_sessions_active", 'state="scheduled"'), 0);
    const token = await t.adminToken();
    const sessions = createClient(SessionService, createGrpcTransport({ baseUrl: t.url }));
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const { session } = await sessions.createSession({ template: "demo-desktop" }, auth);
    assert.ok(session);
    assert.equal(await sample("streamspace_sessions_active", 'state="scheduled"'), 1);
    assert.equal(await sample("streamspace_sessions_active", 'state="running"'), 0);
    // stopped and failed are not active: no series for them at all.
    await sessions.stopSession({ id: session.id }, auth);
    assert.equal(await sample("streamspace_sessions_active", 'state="stopped"'), undefined);
    assert.equal(await sample("streamspace_sessions_active", 'state="stopping"'), 1);
  });

  test("every metric name the pod owns is exposed, with prom-client's process metrics", async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    for (const name of [
      "streamspace_agents_connected",
      "streamspace_sessions_active",
      "streamspace_commands_dispatched_total",
      "streamspace_commands_failed_total",
      "streamspace_api_request_duration_seconds",
      "streamspace_agent_heartbeat_last_seen",
      "process_cpu_seconds_total",
      "nodejs_eventloop_lag_seconds",
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
  });
});
