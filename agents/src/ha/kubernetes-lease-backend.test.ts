/**
 * The Kubernetes Lease backend under the shared HA suite, on the test bed's real API server:
 * atomic takeover by resourceVersion, expiry judged by observation, release, and leader
 * election with real timers (a leader cut off steps down before its lease expires).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { silentLogger } from "@streamspace/common/log";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { type K8sTestbed, startK8sTestbed } from "../../../scripts/k8s-testbed/testbed.ts";
import { apiMust } from "../../../scripts/k8s-testbed/testbed-api.ts";
import { loadKubeConfig } from "./kubernetes-client.ts";
import { KubernetesLeaseBackend } from "./kubernetes-lease-backend.ts";
import { LeaderElector } from "./leader-elector.ts";
import { runLeaseBackendCases } from "./lease-backend-cases.ts";

let bed: K8sTestbed;
let ns: string;
before(async () => {
  bed = await startK8sTestbed();
  ns = await bed.namespace("lease");
});
after(async () => {
  await bed?.stop();
});

const handle = (name: string) =>
  new KubernetesLeaseBackend({ namespace: ns, name, kubeConfig: loadKubeConfig(bed.kubeconfig) });

runLeaseBackendCases("kubernetes", () => {
  const name = `agent-${randomBytes(4).toString("hex")}`;
  return () => handle(name);
});

test("the Lease is an ordinary coordination.k8s.io/v1 Lease that kubectl shows", async () => {
  const name = `agent-${randomBytes(4).toString("hex")}`;
  const a = handle(name);
  try {
    assert.equal(await a.acquireOrRenew("replica-a", 15_000), true);
    const lease = (await apiMust(
      bed.admin,
      "GET",
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
    )) as { spec: Record<string, unknown> };
    assert.equal(lease.spec.holderIdentity, "replica-a");
    assert.equal(lease.spec.leaseDurationSeconds, 15);
    assert.equal(lease.spec.leaseTransitions, 1);
    assert.match(String(lease.spec.renewTime), /\.\d{6}Z$/, "renewTime is a MicroTime");
    await a.release("replica-a");
    const freed = (await apiMust(
      bed.admin,
      "GET",
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
    )) as { spec: Record<string, unknown> };
    assert.equal(freed.spec.holderIdentity, undefined, "a released Lease has no holder");
  } finally {
    await a.close();
  }
});

test("followers watch the Lease: a graceful stop hands over at once, not at the next RETRY_PERIOD", async () => {
  const name = `agent-${randomBytes(4).toString("hex")}`;
  // A retry period far longer than the wait below: only the release watch can explain a takeover.
  const timing = { leaseDurationMs: 120_000, renewDeadlineMs: 90_000, retryPeriodMs: 60_000 };
  const replicas = ["a", "b"].map((id) => {
    const backend = handle(name);
    const r = { id, backend, started: 0, elector: undefined as unknown as LeaderElector };
    r.elector = new LeaderElector({
      backend,
      identity: id,
      ...timing,
      log: silentLogger,
      onStartedLeading: () => {
        r.started++;
      },
      onStoppedLeading: () => {},
    });
    return r;
  });
  try {
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    a.elector.start();
    await eventuallyFound(() => a.elector.isLeader, { what: "a leads" });
    b.elector.start();
    await a.elector.stop();
    await eventuallyFound(() => b.elector.isLeader, {
      what: "b to take the released Lease",
      timeoutMs: WAIT.medium,
    });
    assert.equal(b.started, 1);
  } finally {
    for (const r of replicas) {
      r.elector.kill();
      await r.backend.close();
    }
  }
});
