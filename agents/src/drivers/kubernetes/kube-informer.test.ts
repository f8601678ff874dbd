/**
 * The informer against a real API server: a list then a watch keep the cache equal to the
 * server; a watch resumed from a resourceVersion the server still has loses nothing without
 * listing again; one resumed from a forgotten resourceVersion gets 410 Gone, lists again, and
 * reports what changed while it was blind — deletions included.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { silentLogger } from "@streamspace/common/log";
import { eventually } from "@streamspace/common/testing";
import { type K8sTestbed, startK8sTestbed } from "../../../../scripts/k8s-testbed/testbed.ts";
import { apiMust } from "../../../../scripts/k8s-testbed/testbed-api.ts";
import { createKubeClients, type KubeClients, loadKubeConfig } from "../../ha/kubernetes-client.ts";
import { type InformerEventType, KubeInformer, type ListPage } from "./kube-informer.ts";

let bed: K8sTestbed;
let ns: string;
let clients: KubeClients;
before(async () => {
  bed = await startK8sTestbed();
  ns = await bed.namespace("inf");
  clients = createKubeClients(loadKubeConfig(bed.kubeconfig));
});
after(async () => {
  clients?.close();
  await bed?.stop();
});

const configMap = (name: string, v = "1") => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels: { "informer-test": "yes" } },
  data: { v },
});

function informer() {
  const seen: [InformerEventType, string][] = [];
  const inf = new KubeInformer<{ name: string; v: string }>({
    name: "configmaps",
    path: `/api/v1/namespaces/${ns}/configmaps`,
    labelSelector: "informer-test=yes",
    clients,
    list: (o) => clients.core.listNamespacedConfigMap({ namespace: ns, ...o }) as Promise<ListPage>,
    transform: (raw) => {
      const o = raw as { metadata?: { name?: string }; data?: { v?: string } };
      return { name: o.metadata?.name ?? "", v: o.data?.v ?? "" };
    },
    log: silentLogger,
  });
  inf.on((type, item) => seen.push([type, item.name]));
  return { inf, seen };
}

/** Drops etcd's history up to `revision` (a resourceVersion is an etcd revision). */
async function compactEtcd(revision: string): Promise<void> {
  const r = await fetch(`${bed.etcdUrl}/v3/kv/compaction`, {
    method: "POST",
    body: JSON.stringify({ revision, physical: true }),
  });
  assert.equal(r.status, 200, await r.text());
}

const names = (inf: KubeInformer<{ name: string; v: string }>) =>
  inf
    .values()
    .map((x) => x.name)
    .sort();
const path = () => `/api/v1/namespaces/${ns}/configmaps`;

test("list, then watch: the cache follows creates, updates and deletes", async () => {
  await apiMust(bed.admin, "POST", path(), configMap("a"));
  const { inf, seen } = informer();
  try {
    await inf.start();
    assert.deepEqual(names(inf), ["a"]);
    await apiMust(bed.admin, "POST", path(), configMap("b"));
    await apiMust(bed.admin, "PATCH", `${path()}/a`, { data: { v: "2" } });
    await apiMust(bed.admin, "DELETE", `${path()}/b`);
    await eventually(() =>
      assert.deepEqual(seen.slice(-3), [
        ["added", "b"],
        ["modified", "a"],
        ["deleted", "b"],
      ]),
    );
    assert.equal(inf.get("a")?.v, "2");
    assert.equal(inf.relists, 1, "one list, the rest by watch");
  } finally {
    inf.stop();
    await apiMust(bed.admin, "DELETE", `${path()}/a`);
  }
});

test("a watch resumed from a resourceVersion the server forgot gets 410 Gone, lists again and reports the difference", async () => {
  await apiMust(bed.admin, "POST", path(), configMap("keep"));
  await apiMust(bed.admin, "POST", path(), configMap("drop"));
  const { inf, seen } = informer();
  try {
    await inf.start();
    assert.deepEqual(names(inf), ["drop", "keep"]);
    // Blind for a while: what happens now reaches the cache only through the resumed watch.
    inf.pause();
    const resumeFrom = inf.resourceVersion;
    await apiMust(bed.admin, "DELETE", `${path()}/drop`);
    await apiMust(bed.admin, "POST", path(), configMap("new"));
    // First from a version the server still holds: the watch replays the changes, no relist.
    inf.resume(resumeFrom);
    await eventually(() => assert.deepEqual(names(inf), ["keep", "new"]));
    assert.equal(inf.relists, 1);
    // Then from one the server has forgotten (etcd compacted past it): 410 Gone, a fresh list,
    // and the difference as events.
    inf.pause();
    const stale = inf.resourceVersion;
    seen.length = 0;
    await apiMust(bed.admin, "DELETE", `${path()}/new`);
    const made = (await apiMust(bed.admin, "POST", path(), configMap("newer"))) as {
      metadata: { resourceVersion: string };
    };
    await compactEtcd(made.metadata.resourceVersion);
    inf.resume(stale);
    await eventually(() => assert.deepEqual(names(inf), ["keep", "newer"]));
    assert.equal(inf.relists, 2, "410 Gone made it list again");
    assert.deepEqual(seen.filter(([t]) => t !== "modified").sort(), [
      ["added", "newer"],
      ["deleted", "new"],
    ]);
  } finally {
    inf.stop();
  }
});
