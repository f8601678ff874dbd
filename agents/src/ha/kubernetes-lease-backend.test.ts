/**
 * The Kubernetes Lease backend under the shared HA suite, on the test bed's real API server:
 * atomic takeover by resourceVersion, expiry judged by observation, release, and leader
 * election with real timers (a leader cut off steps down before its lease expires).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { type K8sTestbed, startK8sTestbed } from "../../../scripts/k8s-testbed/testbed.ts";
import { apiMust } from "../../../scripts/k8s-testbed/testbed-api.ts";
import { loadKubeConfig } from "./kubernetes-client.ts";
import { KubernetesLeaseBackend } from "./kubernetes-lease-backend.ts";
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
