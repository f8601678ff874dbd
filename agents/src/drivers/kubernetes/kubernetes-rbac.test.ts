/**
 * The agent's RBAC, proven on the test bed's RBAC authorizer: the Role written down in
 * deploy/kubernetes/agent-rbac.yaml is enough for the whole session lifecycle and for leader
 * election, and a ServiceAccount with less gets failures that say exactly which permission is
 * missing and where the Role is — as a failed command, never a crash.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { silentLogger } from "@streamspace/common/log";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { type K8sTestbed, startK8sTestbed } from "../../../../scripts/k8s-testbed/testbed.ts";
import { loadKubeConfig } from "../../ha/kubernetes-client.ts";
import { KubernetesLeaseBackend } from "../../ha/kubernetes-lease-backend.ts";
import { DriverError } from "../../runtime/driver.ts";
import { makeTemplate } from "../driver-cases.ts";
import { KubernetesDriver } from "./kubernetes-driver.ts";
import { applyAgentRbac, type PolicyRule } from "./rbac-test-kit.ts";

let bed: K8sTestbed;
before(async () => {
  bed = await startK8sTestbed();
});
after(async () => {
  await bed?.stop();
});

const signal = () => AbortSignal.timeout(WAIT.long);
const template = { ...makeTemplate("streamspace.test/desktop:1"), persistentHome: true };

/** Applies the documented objects to `ns` as `name` and returns a kubeconfig acting as it. */
async function applyRbac(ns: string, name: string, trim?: (r: PolicyRule) => PolicyRule[]) {
  await applyAgentRbac(bed.admin, ns, name, trim);
  return bed.serviceAccountKubeconfig(ns, name);
}

/** Removes `verb` on `resource` from one rule. */
const without = (resource: string, verb: string) => (r: PolicyRule) =>
  r.resources.includes(resource) ? [{ ...r, verbs: r.verbs.filter((v) => v !== verb) }] : [r];

const open = (kubeconfig: string, namespace: string) =>
  KubernetesDriver.open({
    namespace,
    agentId: "rbac-agent",
    log: silentLogger,
    kubeConfig: loadKubeConfig(kubeconfig),
  });

test("the documented Role is enough for every session operation and for leader election", async () => {
  const ns = await bed.namespace("rbac");
  const kubeconfig = await applyRbac(ns, "streamspace-agent");
  const driver = await eventuallyFound(() => open(kubeconfig, ns), {
    what: "the driver to open as the agent",
  });
  const lease = new KubernetesLeaseBackend({
    namespace: ns,
    name: "agent-lease",
    kubeConfig: loadKubeConfig(kubeconfig),
  });
  try {
    const id = randomUUID();
    assert.equal(
      (await driver.start({ sessionId: id, ownerId: "u", template }, signal())).state,
      "running",
    );
    assert.equal((await driver.hibernate(id, signal())).state, "hibernated");
    assert.equal((await driver.wake(id, signal())).state, "running");
    const stopped = await driver.stopAll("stopped with the system", signal());
    assert.deepEqual(
      stopped.map((s) => s.sessionId),
      [id],
    );
    assert.deepEqual(
      (await driver.ended()).map((s) => s.sessionId),
      [id],
      "the ended record was written",
    );
    await driver.forgetEnded([id]);
    assert.deepEqual(await driver.ended(), []);
    assert.equal(await lease.acquireOrRenew("replica-a", 15_000), true);
    assert.equal(await lease.acquireOrRenew("replica-a", 15_000), true);
    // Followers watch the Lease to take it as soon as it is released.
    const follower = new KubernetesLeaseBackend({
      namespace: ns,
      name: "agent-lease",
      kubeConfig: loadKubeConfig(kubeconfig),
    });
    let heard = 0;
    const off = follower.onReleased(() => {
      heard++;
    });
    try {
      await lease.release("replica-a");
      await eventuallyFound(() => heard > 0, { what: "the follower to hear the release" });
    } finally {
      off();
      await follower.close();
    }
  } finally {
    await driver.close();
    await lease.close();
  }
});

test("without create on deployments a start fails saying which permission is missing, and the driver keeps working", async () => {
  const ns = await bed.namespace("rbac");
  const kubeconfig = await applyRbac(ns, "no-create", without("deployments", "create"));
  const driver = await eventuallyFound(() => open(kubeconfig, ns), { what: "the driver to open" });
  try {
    await assert.rejects(
      driver.start({ sessionId: randomUUID(), ownerId: "u", template }, signal()),
      (e) =>
        e instanceof DriverError &&
        new RegExp(
          `^the agent is not allowed to create deployments ss-[0-9a-f-]+ in namespace ${ns} \\(403 Forbidden: .*cannot create resource "deployments".*\\); grant its ServiceAccount the Role in deploy/kubernetes/agent-rbac.yaml$`,
        ).test(e.message),
    );
    assert.deepEqual(await driver.list(), [], "the driver still answers");
  } finally {
    await driver.close();
  }
});

test("without watch on pods the driver does not open, and says what to grant", async () => {
  const ns = await bed.namespace("rbac");
  const kubeconfig = await applyRbac(ns, "no-pods", (r) =>
    r.resources.includes("pods") ? [] : [r],
  );
  await eventually(async () =>
    assert.rejects(
      open(kubeconfig, ns),
      (e) =>
        e instanceof DriverError &&
        /not allowed to list pods in namespace .*403 Forbidden.*agent-rbac\.yaml/.test(e.message),
    ),
  );
});

test("without rights on leases, leader election fails with what to grant", async () => {
  const ns = await bed.namespace("rbac");
  const kubeconfig = await applyRbac(ns, "no-leases", (r) =>
    r.resources.includes("leases") ? [] : [r],
  );
  const lease = new KubernetesLeaseBackend({
    namespace: ns,
    name: "agent-lease",
    kubeConfig: loadKubeConfig(kubeconfig),
  });
  try {
    await assert.rejects(
      lease.acquireOrRenew("replica-a", 15_000),
      /could not read lease agent-lease in namespace .*grant the agent's ServiceAccount get, list, watch, create and update on leases/,
    );
  } finally {
    await lease.close();
  }
});
