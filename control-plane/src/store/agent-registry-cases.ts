/**
 * The one behaviour suite every AgentRegistry passes (CONVENTIONS.md: shared behaviour suites):
 * the Postgres store the gateway runs on and the in-memory fake its unit tests run on. All is
 * observed through the port, identity() and expireSilent() above all, so a fake that drifted
 * from the real statements fails here rather than in a gateway test that trusted it.
 *
 * Registries made by one factory may share a backend (one database per file), so each case
 * uses its own agent ids and asserts on its own agents only.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import type { AgentHelloInfo, AgentRegistry } from "../gateway/agent-registry.ts";

/** A registry plus what an admin's RevokeAgent does to the same backend. */
export interface RegistryFixture {
  registry: AgentRegistry;
  revoke(agentId: string): Promise<void>;
}

const info: AgentHelloInfo = {
  platform: Platform.LOCAL,
  region: "eu",
  version: "test",
  capacity: { maxSessions: 4, activeSessions: 0, maxCpuMillis: 4000n, maxMemoryBytes: 1n << 30n },
  labels: { gpu: "no" },
};

const T0 = Date.parse("2030-01-01T00:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000);

/** Registers the suite under `name`; `make` is called once per case. */
export function runAgentRegistryCases(name: string, make: () => Promise<RegistryFixture>): void {
  let n = 0;
  const fresh = () => `${name}-agent-${++n}`;

  /** An approved agent whose stream `pod` holds since `since` seconds. */
  async function connected(r: AgentRegistry, pod: string, since: number): Promise<string> {
    const id = fresh();
    await r.enrolPending(id, info);
    await r.approve(id, `hash-${id}`);
    await r.markOnline(id, pod, info, at(since));
    return id;
  }

  describe(`AgentRegistry behaviour: ${name}`, () => {
    test("enrolment creates a pending agent without a credential; enrolling again changes nothing", async () => {
      const { registry: r } = await make();
      const id = fresh();
      assert.equal(await r.identity(id), undefined);
      assert.deepEqual(await r.enrolPending(id, info), {
        id,
        enrolment: "pending",
        credentialHash: null,
      });
      assert.deepEqual(await r.identity(id), { id, enrolment: "pending", credentialHash: null });
      await r.approve(id, "h1");
      assert.deepEqual(await r.enrolPending(id, info), {
        id,
        enrolment: "approved",
        credentialHash: "h1",
      });
    });

    test("approve sets the credential hash, approving again replaces it, an unknown agent stays unknown", async () => {
      const { registry: r } = await make();
      const id = fresh();
      await r.enrolPending(id, info);
      await r.approve(id, "h1");
      assert.deepEqual(await r.identity(id), { id, enrolment: "approved", credentialHash: "h1" });
      await r.approve(id, "h2");
      assert.equal((await r.identity(id))?.credentialHash, "h2");
      const ghost = fresh();
      await r.approve(ghost, "h3");
      await r.markOnline(ghost, "pod-a", info, at(0));
      assert.equal(await r.identity(ghost), undefined);
    });

    test("a revoked agent loses its credential, stays revoked on enrolment, and never expires", async () => {
      const f = await make();
      const id = await connected(f.registry, "pod-a", 0);
      await f.revoke(id);
      assert.deepEqual(await f.registry.identity(id), {
        id,
        enrolment: "revoked",
        credentialHash: null,
      });
      assert.equal((await f.registry.enrolPending(id, info)).enrolment, "revoked");
      await f.registry.markOnline(id, "pod-a", info, at(0));
      assert.ok(!(await f.registry.expireSilent(at(3600))).includes(id));
    });

    test("a pending agent that connected never expires", async () => {
      const { registry: r } = await make();
      const id = fresh();
      await r.enrolPending(id, info);
      await r.markOnline(id, "pod-a", info, at(0));
      assert.ok(!(await r.expireSilent(at(3600))).includes(id));
      assert.equal((await r.identity(id))?.enrolment, "pending");
    });

    test("heartbeats keep an agent in; silence past the cutoff expires it once", async () => {
      const { registry: r } = await make();
      const id = await connected(r, "pod-a", 0);
      await r.recordHeartbeats([
        { agentId: id, capacity: info.capacity, at: at(10), pod: "pod-a", platformProblem: "" },
      ]);
      assert.ok(!(await r.expireSilent(at(10))).includes(id), "silent since exactly the cutoff");
      assert.ok((await r.expireSilent(at(11))).includes(id));
      assert.ok(!(await r.expireSilent(at(12))).includes(id), "already offline");
      // A new stream brings it back, and it can expire again.
      await r.markOnline(id, "pod-b", info, at(20));
      assert.ok((await r.expireSilent(at(21))).includes(id));
    });

    test("an older heartbeat never moves liveness back", async () => {
      const { registry: r } = await make();
      const id = await connected(r, "pod-a", 0);
      await r.recordHeartbeats([
        { agentId: id, capacity: undefined, at: at(20), pod: "pod-a", platformProblem: "" },
      ]);
      await r.recordHeartbeats([
        { agentId: id, capacity: undefined, at: at(5), pod: "pod-a", platformProblem: "" },
        { agentId: fresh(), capacity: undefined, at: at(5), pod: "pod-a", platformProblem: "" },
      ]);
      assert.ok(!(await r.expireSilent(at(20))).includes(id));
      assert.ok((await r.expireSilent(at(21))).includes(id));
    });

    test("an agent swept offline while its stream lived is online again with its next beat", async () => {
      // Postgres away longer than the heartbeat timeout: no beat was written, so the first sweep
      // after it returned marked every connected agent offline, and they stayed offline (unable
      // to take sessions) although they beat every few seconds, until they reconnected.
      const { registry: r, revoke } = await make();
      const id = await connected(r, "pod-a", 0);
      assert.ok((await r.expireSilent(at(31))).includes(id));
      await r.recordHeartbeats([
        { agentId: id, capacity: undefined, at: at(32), pod: "pod-a", platformProblem: "" },
      ]);
      assert.ok(!(await r.expireSilent(at(32))).includes(id), "beat at the cutoff");
      // Online again (only online agents expire), and held by pod-a, not pod-b.
      await r.markOffline(id, "pod-b", at(32));
      assert.ok((await r.expireSilent(at(33))).includes(id), "online again after the beat");
      await r.recordHeartbeats([
        { agentId: id, capacity: undefined, at: at(40), pod: "pod-a", platformProblem: "" },
      ]);
      await r.markOffline(id, "pod-a", at(41));
      assert.ok(
        !(await r.expireSilent(at(99))).includes(id),
        "pod-a held it: its call took it out",
      );
      // A beat never brings back a revoked or a pending agent.
      const gone = await connected(r, "pod-a", 0);
      await r.expireSilent(at(31));
      await revoke(gone);
      const waiting = fresh();
      await r.enrolPending(waiting, info);
      await r.recordHeartbeats([
        { agentId: gone, capacity: undefined, at: at(40), pod: "pod-a", platformProblem: "" },
        { agentId: waiting, capacity: undefined, at: at(40), pod: "pod-a", platformProblem: "" },
      ]);
      assert.ok(!(await r.expireSilent(at(99))).includes(gone));
      assert.ok(!(await r.expireSilent(at(99))).includes(waiting));
      assert.equal((await r.identity(gone))?.enrolment, "revoked");
      assert.equal((await r.identity(waiting))?.enrolment, "pending");
    });

    test("only the pod that holds an agent can mark it offline", async () => {
      const { registry: r } = await make();
      const id = await connected(r, "pod-a", 0);
      await r.markOffline(id, "pod-b", at(1));
      assert.ok((await r.expireSilent(at(5))).includes(id), "still online after pod-b's call");
      const other = await connected(r, "pod-a", 0);
      await r.markOffline(other, "pod-a", at(1));
      assert.ok(!(await r.expireSilent(at(5))).includes(other), "offline after pod-a's call");
      assert.equal((await r.identity(other))?.enrolment, "approved");
    });
  });
}
