/**
 * The Kubernetes driver on a real API server (the test bed: kube-apiserver, controller-manager,
 * scheduler and KWOK built from Go modules): the shared driver suite, with a real VNC server on
 * each Ready pod's 127.77.x.x address, then what only Kubernetes has — labels and owner
 * references, scale-to-zero hibernation, cascading deletion, the cluster's failure reasons,
 * quota, re-adoption after a restart and idempotent creates across two agents.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { silentLogger } from "@streamspace/common/log";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { ResourcesSchema, type Template } from "@streamspace/proto/streamspace/v1/types_pb";
import { type K8sTestbed, startK8sTestbed } from "../../../../scripts/k8s-testbed/testbed.ts";
import { apiCall, apiMust } from "../../../../scripts/k8s-testbed/testbed-api.ts";
import { loadKubeConfig } from "../../ha/kubernetes-client.ts";
import { DriverError, type DriverSession } from "../../runtime/driver.ts";
import { RfbClient } from "../../vnc/rfb-client.ts";
import { type DriverFixture, makeTemplate, runDriverCases } from "../driver-cases.ts";
import { KubernetesDriver } from "./kubernetes-driver.ts";
import { deploymentFor, objectName } from "./kubernetes-session-spawn.ts";
import { type PodVncServers, servePodVnc } from "./pod-vnc-test-kit.ts";

const AGENT = "k8s-agent-1";
const IMAGE = "streamspace.test/desktop:1";
let bed: K8sTestbed;
before(async () => {
  bed = await startK8sTestbed();
});
after(async () => {
  await bed?.stop();
});

const signal = () => AbortSignal.timeout(WAIT.long);
const newId = () => randomUUID();

type KubeFixture = DriverFixture & {
  driver: KubernetesDriver;
  namespace: string;
  vnc: PodVncServers;
  reopen(agentId?: string): Promise<KubernetesDriver>;
};

async function kubeFixture(
  opts: { kubeconfig?: string; namespace?: string } = {},
): Promise<KubeFixture> {
  const namespace = opts.namespace ?? (await bed.namespace("drv"));
  const vnc = await servePodVnc({ kubeconfig: bed.kubeconfig, namespace });
  const extra: KubernetesDriver[] = [];
  const open = (agentId = AGENT) =>
    KubernetesDriver.open({
      namespace,
      agentId,
      log: silentLogger,
      kubeConfig: loadKubeConfig(opts.kubeconfig ?? bed.kubeconfig),
    });
  const driver = await open();
  return {
    driver,
    namespace,
    vnc,
    template: makeTemplate(IMAGE),
    hibernateEndsViewers: true,
    reachable: (s) => vnc.serving(s.endpoint),
    async reopen(agentId) {
      const d = await open(agentId);
      extra.push(d);
      return d;
    },
    async crash(id) {
      await apiMust(
        bed.admin,
        "DELETE",
        `/apis/apps/v1/namespaces/${namespace}/deployments/${objectName(id)}`,
      );
    },
    async cleanup() {
      for (const s of await driver.list()) await driver.stop(s.sessionId, signal()).catch(() => {});
      await Promise.all([driver, ...extra].map((d) => d.close()));
      await vnc.close();
    },
  };
}

function template(over: Partial<Template>): Template {
  return { ...makeTemplate(IMAGE), ...over } as Template;
}

// Objects as the API server returns them; tests read nested fields freely.
// biome-ignore lint/suspicious/noExplicitAny: JSON from the API server, read by tests only
type Json = any;

async function get(path: string): Promise<Json> {
  return (await apiMust(bed.admin, "GET", path)) as Json;
}

async function gone(path: string): Promise<void> {
  await eventually(async () => assert.equal((await apiCall(bed.admin, "GET", path)).status, 404), {
    what: `${path} to be deleted`,
    timeoutMs: WAIT.long,
  });
}

runDriverCases("kubernetes (test bed, KWOK pods with a real VNC server)", () => kubeFixture());

describe("kubernetes driver specifics", () => {
  let fx: KubeFixture;
  before(async () => {
    fx = await kubeFixture();
  });
  after(async () => {
    await fx?.cleanup();
  });
  const apps = () => `/apis/apps/v1/namespaces/${fx.namespace}`;
  const core = () => `/api/v1/namespaces/${fx.namespace}`;

  test("a start makes a labelled Deployment, Service and home claim owned by the Deployment, and runs on the pod's address", async () => {
    const id = newId();
    const t = template({
      persistentHome: true,
      env: { GREETING: "hello" },
      resources: create(ResourcesSchema, { cpuMillis: 250n, memoryBytes: 256n * 1024n * 1024n }),
    });
    const s = await fx.driver.start({ sessionId: id, ownerId: "user-1", template: t }, signal());
    assert.equal(s.state, "running");
    assert.match(s.endpoint?.host ?? "", /^127\.77\./, "the endpoint is the pod's address");
    assert.equal(s.endpoint?.port, 5900);
    const name = objectName(id);
    const dep = await get(`${apps()}/deployments/${name}`);
    const labels = {
      "app.kubernetes.io/managed-by": "streamspace",
      "streamspace.io/session-id": id,
      "streamspace.io/agent-id": AGENT,
      "streamspace.io/owner": "user-1",
    };
    assert.deepEqual(
      Object.fromEntries(Object.entries(dep.metadata.labels).filter(([k]) => k in labels)),
      labels,
    );
    const pod = dep.spec.template.spec;
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.containers[0].image, IMAGE);
    assert.deepEqual(pod.containers[0].resources, {
      requests: { cpu: "250m", memory: String(256 * 1024 * 1024) },
      limits: { memory: String(256 * 1024 * 1024) },
    });
    assert.ok(pod.containers[0].env.some((e: { name: string }) => e.name === "GREETING"));
    for (const path of [
      `${core()}/services/${name}`,
      `${core()}/persistentvolumeclaims/${name}-home`,
    ]) {
      const o = await get(path);
      assert.equal(o.metadata.labels["streamspace.io/session-id"], id, path);
      assert.deepEqual(
        o.metadata.ownerReferences.map((r: { kind: string; uid: string }) => [r.kind, r.uid]),
        [["Deployment", dep.metadata.uid]],
        `${path} is owned by the Deployment`,
      );
    }
    const svc = await get(`${core()}/services/${name}`);
    assert.equal(svc.spec.clusterIP, "None", "headless: no cluster IP spent per desktop");
    await fx.vnc.serving(s.endpoint);
    using viewer = await RfbClient.connect(5900, s.endpoint?.host);
    assert.ok(viewer.width > 0);
  });

  test("hibernate scales to 0 and keeps the Service and home claim; wake brings a pod back", async () => {
    const id = newId();
    const name = objectName(id);
    await fx.driver.start(
      { sessionId: id, ownerId: "u", template: template({ persistentHome: true }) },
      signal(),
    );
    assert.equal((await fx.driver.hibernate(id, signal())).state, "hibernated");
    assert.equal((await get(`${apps()}/deployments/${name}`)).spec.replicas, 0);
    const pods = await get(`${core()}/pods?labelSelector=streamspace.io/session-id=${id}`);
    assert.deepEqual(pods.items, [], "no pod while hibernated");
    await get(`${core()}/services/${name}`);
    const claim = await get(`${core()}/persistentvolumeclaims/${name}-home`);
    assert.equal(claim.metadata.deletionTimestamp, undefined, "the home claim is kept");
    const woken = await fx.driver.wake(id, signal());
    assert.equal(woken.state, "running");
    assert.equal((await get(`${apps()}/deployments/${name}`)).spec.replicas, 1);
  });

  test("stop deletes the Deployment and its pods, and the garbage collector removes the Service and claim", async () => {
    const id = newId();
    const name = objectName(id);
    await fx.driver.start(
      { sessionId: id, ownerId: "u", template: template({ persistentHome: true }) },
      signal(),
    );
    assert.equal((await fx.driver.stop(id, signal())).state, "stopped");
    assert.equal((await apiCall(bed.admin, "GET", `${apps()}/deployments/${name}`)).status, 404);
    const pods = await get(`${core()}/pods?labelSelector=streamspace.io/session-id=${id}`);
    assert.deepEqual(pods.items, [], "the pods went before the Deployment");
    await gone(`${core()}/services/${name}`);
    await gone(`${core()}/persistentvolumeclaims/${name}-home`);
  });

  const failures: [string, Partial<Template>, RegExp][] = [
    [
      "a desktop no node can hold fails as Unschedulable with the scheduler's words",
      { resources: create(ResourcesSchema, { cpuMillis: 1_000_000n, memoryBytes: 0n }) },
      /Unschedulable: 0\/1 nodes are available: 1 Insufficient cpu.*add or free nodes/,
    ],
    [
      "an image that cannot be pulled fails as ImagePullBackOff",
      { image: "streamspace.test/missing-image:1" },
      /image streamspace\.test\/missing-image:1 cannot be pulled \(ImagePullBackOff.*check the template's image name/,
    ],
    [
      "a desktop that keeps exiting fails as CrashLoopBackOff with its exit",
      { image: "streamspace.test/crashes:1" },
      /keeps crashing \(CrashLoopBackOff, last exit: Error code 1/,
    ],
    [
      "a desktop killed for memory fails as OOMKilled",
      { image: "streamspace.test/oom:1" },
      /ran out of memory and was killed \(OOMKilled.*more memory/,
    ],
  ];
  for (const [name, over, reason] of failures) {
    test(`${name}, and leaves no object behind`, async () => {
      const id = newId();
      await assert.rejects(
        fx.driver.start({ sessionId: id, ownerId: "u", template: template(over) }, signal()),
        (e) => e instanceof DriverError && reason.test(e.message),
      );
      await gone(`${apps()}/deployments/${objectName(id)}`);
      assert.ok(!(await fx.driver.list()).some((s) => s.sessionId === id));
    });
  }

  test("a template the API server rejects is a precise invalid-argument failure (422)", async () => {
    await assert.rejects(
      fx.driver.start(
        { sessionId: newId(), ownerId: "u", template: template({ env: { "A=B": "x" } }) },
        signal(),
      ),
      (e) =>
        e instanceof DriverError &&
        e.code === "invalid_argument" &&
        /422: .*fix the template/.test(e.message),
    );
  });

  test("a running desktop that starts crashing is reported as a failed event", async () => {
    const id = newId();
    const seen: DriverSession[] = [];
    const off = fx.driver.onEvent((e) => seen.push(e));
    try {
      await fx.driver.start({ sessionId: id, ownerId: "u", template: template({}) }, signal());
      const pods = await get(`${core()}/pods?labelSelector=streamspace.io/session-id=${id}`);
      const pod = pods.items[0].metadata.name;
      await apiMust(bed.admin, "PATCH", `${core()}/pods/${pod}/status`, {
        status: {
          conditions: [{ type: "Ready", status: "False" }],
          containerStatuses: [
            {
              name: "desktop",
              image: IMAGE,
              imageID: "",
              ready: false,
              restartCount: 5,
              state: { waiting: { reason: "CrashLoopBackOff", message: "back-off" } },
              lastState: { terminated: { reason: "Error", exitCode: 139 } },
            },
          ],
        },
      });
      const ev = await eventuallyFound(() => seen.find((e) => e.sessionId === id), {
        what: "a failed event",
      });
      assert.equal(ev.state, "failed");
      assert.match(ev.reason ?? "", /CrashLoopBackOff, last exit: Error code 139/);
      assert.equal(fx.driver.endpoint(id), undefined);
    } finally {
      off();
    }
  });

  test("a restarted driver re-adopts its sessions by label; one deleted meanwhile is not reported", async () => {
    const keep = newId();
    const lost = newId();
    const a = await fx.driver.start(
      { sessionId: keep, ownerId: "u", template: template({}) },
      signal(),
    );
    await fx.driver.start({ sessionId: lost, ownerId: "u", template: template({}) }, signal());
    await fx.crash(lost);
    const again = await fx.reopen();
    const listed = await again.list();
    assert.deepEqual(
      listed.find((s) => s.sessionId === keep),
      a,
    );
    await eventually(async () =>
      assert.ok(!(await again.list()).some((s) => s.sessionId === lost)),
    );
    const other = await fx.reopen("another-agent");
    assert.deepEqual(await other.list(), [], "another agent id sees none of these objects");
  });

  test("a start redelivered after a crash mid-create, or raced by a second leader, makes exactly one Deployment", async () => {
    const id = newId();
    const spec = { sessionId: id, ownerId: "u", template: template({ persistentHome: true }) };
    // The first agent died right after creating the Deployment: no Service, no claim yet.
    await apiMust(bed.admin, "POST", `${apps()}/deployments`, deploymentFor(spec, AGENT));
    const second = await fx.reopen();
    const [x, y] = await Promise.all([
      second.start(spec, signal()),
      fx.driver.start(spec, signal()),
    ]);
    assert.equal(x.state, "running");
    assert.deepEqual(x, y);
    const deps = await get(`${apps()}/deployments?labelSelector=streamspace.io/session-id=${id}`);
    assert.equal(deps.items.length, 1);
    await get(`${core()}/services/${objectName(id)}`);
    await get(`${core()}/persistentvolumeclaims/${objectName(id)}-home`);
  });

  test("quota: a namespace that refuses Deployments, or pods, fails the start with the quota's words", async () => {
    // One namespace per quota (no PATCH): the API server's quota admission reads quotas from
    // an informer that can lag a GET, so each start is retried until admission has counted
    // the quota; a start that slipped through is stopped before the next attempt.
    const refused = async (hard: Record<string, string>, words: RegExp, code?: string) => {
      const ns = await bed.namespace("quota");
      const q = await kubeFixture({ namespace: ns });
      try {
        await apiMust(bed.admin, "POST", `/api/v1/namespaces/${ns}/resourcequotas`, {
          apiVersion: "v1",
          kind: "ResourceQuota",
          metadata: { name: "limits" },
          spec: { hard },
        });
        await eventually(
          async () => {
            const id = newId();
            let err: unknown;
            try {
              await q.driver.start({ sessionId: id, ownerId: "u", template: q.template }, signal());
            } catch (e) {
              err = e;
            }
            if (!err) await q.driver.stop(id, signal());
            assert.ok(err instanceof DriverError, `start in ${ns} was refused`);
            if (code) assert.equal(err.code, code);
            assert.match(err.message, words);
          },
          { what: `a start refused by quota ${JSON.stringify(hard)}`, timeoutMs: WAIT.long },
        );
      } finally {
        await q.cleanup();
      }
    };
    await refused(
      { "count/deployments.apps": "0" },
      /ResourceQuota refuses it \(.*exceeded quota/,
      "capacity",
    );
    await refused({ pods: "0" }, /ResourceQuota refuses the desktop's pod \(.*exceeded quota/);
  });
});
