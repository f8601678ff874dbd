/**
 * Three replicas of one Kubernetes agent (one AGENT_ID, HA_BACKEND=kubernetes) elect a leader
 * with a Lease on the test bed. Killing the leader's process (SIGKILL: no release) in the middle
 * of its work hands the stream to another replica once the Lease expires: commands the dead
 * leader had received but not finished (two slow starts, a stop) are redelivered and
 * finished by the new leader, sessions that ran before keep running, and no session gets a
 * second Deployment. How fast that happens is measured in bench/kubernetes/, not asserted here.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { type K8sTestbed, startK8sTestbed } from "../scripts/k8s-testbed/testbed.ts";
import { apiMust } from "../scripts/k8s-testbed/testbed-api.ts";
import { type KubeSystem, startKubeSystem } from "./kube-system.ts";

let bed: K8sTestbed;
let ns: string;
let sys: KubeSystem;
before(async () => {
  bed = await startK8sTestbed();
  ns = await bed.namespace("ha");
  sys = await startKubeSystem({
    kubeconfig: bed.kubeconfig,
    namespace: ns,
    replicas: 3,
    agentEnv: { LEASE_DURATION: "3s", RENEW_DEADLINE: "2s", RETRY_PERIOD: "500ms" },
  });
});
after(async () => {
  await sys?.stop();
  await bed?.stop();
});

async function states(ids: string[]): Promise<SessionState[]> {
  return Promise.all(
    ids.map(
      async (id) =>
        (await sys.sessions.getSession({ id }, { headers: sys.auth })).session?.state ??
        SessionState.UNSPECIFIED,
    ),
  );
}

async function reach(ids: string[], want: SessionState[]): Promise<void> {
  await eventually(async () => assert.deepEqual(await states(ids), want), {
    what: "every session to reach its state",
    timeoutMs: WAIT.slow,
  });
}
const allRunning = (ids: string[]) =>
  reach(
    ids,
    ids.map(() => SessionState.RUNNING),
  );

test("killing the leader's process hands the agent to another replica; no command is lost and nothing runs twice", async () => {
  try {
    const first = await eventuallyFound(() => sys.leader(), {
      what: "a leader",
      timeoutMs: WAIT.slow,
    });
    const tpl = await sys.template();
    const slow = await sys.template({ image: "streamspace.test/slow:1" });
    const create = async (template: string) =>
      (await sys.sessions.createSession({ template }, { headers: sys.auth })).session?.id ?? "";
    const before = [await create(tpl), await create(tpl)];
    await allRunning(before);

    // The leader gets work it cannot finish before it dies: two starts whose pods take 4 s to
    // become ready, and a stop.
    const during = [await create(slow), await create(slow)];
    await sys.sessions.stopSession({ id: before[0] ?? "" }, { headers: sys.auth });
    await sys.kill(first.index);
    const next = await eventuallyFound(
      async () => {
        const l = await sys.leader();
        return l && l !== first ? l : undefined;
      },
      { what: "another replica to lead", timeoutMs: WAIT.slow },
    );
    await reach(
      [...before, ...during],
      [SessionState.STOPPED, SessionState.RUNNING, SessionState.RUNNING, SessionState.RUNNING],
    );

    const lease = (await apiMust(
      bed.admin,
      "GET",
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/streamspace-agent-${sys.agentId}`,
    )) as { spec: { holderIdentity?: string; leaseTransitions?: number } };
    assert.ok(lease.spec.holderIdentity, "the Lease names the new leader");
    assert.ok((lease.spec.leaseTransitions ?? 0) >= 2, "the Lease changed hands");
    for (const [i, id] of [...before, ...during].entries()) {
      const deps = (await apiMust(
        bed.admin,
        "GET",
        `/apis/apps/v1/namespaces/${ns}/deployments?labelSelector=streamspace.io/session-id=${id}`,
      )) as { items: unknown[] };
      assert.equal(
        deps.items.length,
        i === 0 ? 0 : 1,
        `session ${id}: one Deployment, none once stopped`,
      );
    }
    // The followers stay followers: exactly one replica holds the stream.
    const leading = [];
    for (const r of sys.replicas) {
      if (!r.alive) continue;
      const h = (await (await fetch(`http://127.0.0.1:${r.healthPort}/health`)).json()) as {
        leader: boolean;
      };
      if (h.leader) leading.push(r.index);
    }
    assert.deepEqual(leading, [next.index]);
  } catch (err) {
    process.stderr.write(`--- system logs ---\n${sys.logs()}\n`);
    throw err;
  }
});
