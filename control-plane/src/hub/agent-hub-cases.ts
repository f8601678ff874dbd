/**
 * The one behaviour suite every AgentHub passes (CONVENTIONS.md: shared behaviour suites).
 * `makeHub(pod)` returns a started-able hub; hubs made by one factory share one backend
 * (the same MemoryHubNetwork, or the same Redis), so cross-pod routing is exercised too.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ControlMessageSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import type { AgentHub, HubMessage } from "../gateway/agent-hub.ts";
import { eventually } from "../gateway/gateway-test-kit.ts";

/** A started hub plus everything it received, disposed with `await using`. */
interface Pod extends AsyncDisposable {
  hub: AgentHub;
  inbox: HubMessage[];
}

async function startPod(make: (pod: string) => Promise<AgentHub>, pod: string): Promise<Pod> {
  const hub = await make(pod);
  const inbox: HubMessage[] = [];
  await hub.start((m) => inbox.push(m));
  return { hub, inbox, [Symbol.asyncDispose]: () => hub.close() };
}

/** Registers the suite under `name`; each test builds its own pods with unique names. */
export function runAgentHubCases(name: string, makeHub: (pod: string) => Promise<AgentHub>): void {
  let n = 0;
  const pods = () => {
    n++;
    return [`${name}-a${n}`, `${name}-b${n}`] as const;
  };

  describe(`AgentHub behaviour: ${name}`, () => {
    test("register makes the route visible to every pod", async () => {
      const [pa, pb] = pods();
      await using a = await startPod(makeHub, pa);
      await using b = await startPod(makeHub, pb);
      await a.hub.register(`agent-${n}`, "c1");
      assert.deepEqual(await b.hub.route(`agent-${n}`), { pod: pa, connectionId: "c1" });
      assert.deepEqual(await a.hub.route(`agent-${n}`), { pod: pa, connectionId: "c1" });
      assert.equal(await b.hub.route("nobody"), undefined);
      assert.equal(a.hub.status().state, "ok");
    });

    test("a message for a local agent is handled here; for a remote one, on its pod", async () => {
      const [pa, pb] = pods();
      await using a = await startPod(makeHub, pa);
      await using b = await startPod(makeHub, pb);
      const agent = `agent-${n}`;
      await b.hub.register(agent, "c1");
      const message = create(ControlMessageSchema, {
        payload: { case: "credentialIssued", value: { credential: "ssa_x" } },
      });
      assert.equal(await b.hub.send({ kind: "deliver", agentId: agent }), "local");
      assert.deepEqual(b.inbox, [{ kind: "deliver", agentId: agent }]);
      assert.equal(await a.hub.send({ kind: "control", agentId: agent, message }), "remote");
      assert.equal(await a.hub.send({ kind: "cut", agentId: agent, reason: "revoked" }), "remote");
      await eventually(() => b.inbox.length === 3);
      const got = b.inbox[1];
      assert.equal(got?.kind, "control");
      assert.equal(
        got?.kind === "control" && got.message.payload.case === "credentialIssued"
          ? got.message.payload.value.credential
          : "",
        "ssa_x",
      );
      assert.deepEqual(b.inbox[2], { kind: "cut", agentId: agent, reason: "revoked" });
      assert.equal(a.inbox.length, 0);
    });

    test("a message for an agent nobody holds is reported offline", async () => {
      const [pa] = pods();
      await using a = await startPod(makeHub, pa);
      assert.equal(await a.hub.send({ kind: "deliver", agentId: `ghost-${n}` }), "offline");
    });

    test("a newer stream on another pod wins; the old stream's unregister leaves it alone", async () => {
      const [pa, pb] = pods();
      await using a = await startPod(makeHub, pa);
      await using b = await startPod(makeHub, pb);
      const agent = `agent-${n}`;
      await a.hub.register(agent, "old");
      await b.hub.register(agent, "new");
      await a.hub.unregister(agent, "old");
      assert.deepEqual(await a.hub.route(agent), { pod: pb, connectionId: "new" });
      assert.equal(await a.hub.send({ kind: "deliver", agentId: agent }), "remote");
      await eventually(() => b.inbox.length === 1);
      await b.hub.unregister(agent, "new");
      assert.equal(await a.hub.route(agent), undefined);
    });

    test("a closed pod's agents become unreachable", async () => {
      const [pa, pb] = pods();
      await using a = await startPod(makeHub, pa);
      const b = await startPod(makeHub, pb);
      await b.hub.register(`agent-${n}`, "c1");
      await b.hub.close();
      assert.equal(await a.hub.send({ kind: "deliver", agentId: `agent-${n}` }), "offline");
    });
  });
}
