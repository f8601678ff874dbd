/**
 * The chart on a real API server (the Kubernetes test bed; KWOK marks pods ready):
 *  - the default and the HA rendering are accepted by `kubectl apply --dry-run=server`, with
 *    the published monitoring CRDs installed;
 *  - `helm install` of values-ha.yaml: every object is there and every Deployment rolls out
 *    (3 API pods on 3 nodes, relays and agents at their HPA minimum / replica count);
 *  - `helm upgrade` with a changed value rolls the control plane and keeps every Secret;
 *  - `helm uninstall` leaves only the Postgres claim the values asked to keep, and with
 *    keepOnUninstall=false not even that.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { eventually } from "@streamspace/common/testing";
import { type K8sTestbed, startK8sTestbed } from "../../../scripts/k8s-testbed/testbed.ts";
import { CHART, type K8sObject, parseManifest, renderChart, sh, tool } from "./chart-kit.ts";
import {
  addTaintedNodes,
  HELM_TAINT,
  installMonitoringCrds,
  kubectl,
  startExtraControllers,
} from "./testbed-kit.ts";

const RELEASE = "streamspace";
const TOLERATE = JSON.stringify([{ key: HELM_TAINT, operator: "Exists", effect: "NoSchedule" }]);
/** values-ha.yaml, tolerating the chart tests' own nodes. */
const HA = [
  "-f",
  join(CHART, "values-ha.yaml"),
  ...["api", "relay", "k8sAgent", "pgbouncer"].flatMap((c) => [
    "--set-json",
    `${c}.tolerations=${TOLERATE}`,
  ]),
];
/** Namespaced kinds a release can leave behind. */
const KINDS =
  "deployments,statefulsets,replicasets,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets,horizontalpodautoscalers,networkpolicies,ingresses,servicemonitors,prometheusrules,persistentvolumeclaims,leases";

describe("the chart on the test bed", { timeout: 900_000 }, () => {
  let bed: K8sTestbed;
  const disposers: AsyncDisposable[] = [];
  const helm = (args: string[]) =>
    sh(tool("helm"), ["--kubeconfig", bed.kubeconfig, ...args], { timeoutMs: 600_000 });
  const json = async (ns: string, ...what: string[]) =>
    JSON.parse(await kubectl(bed, ["get", "-n", ns, ...what, "-o", "json"])) as {
      items: K8sObject[];
    };
  /** What a namespace still holds, as kind/name, apart from what Kubernetes puts in any. */
  const leftovers = async (ns: string) =>
    (await json(ns, KINDS)).items
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .filter((n) => n !== "ConfigMap/kube-root-ca.crt" && n !== "ServiceAccount/default");

  before(async () => {
    bed = await startK8sTestbed();
    disposers.push(await startExtraControllers(bed));
    disposers.push(await addTaintedNodes(bed, 2));
    await installMonitoringCrds(bed);
  });
  after(async () => {
    for (const d of disposers.reverse()) await d[Symbol.asyncDispose]();
    await bed?.[Symbol.asyncDispose]();
  });

  for (const [name, args] of [
    ["default values", []],
    ["values-ha.yaml", HA],
  ] as const) {
    test(`the API server accepts every object (${name}, dry-run=server)`, async () => {
      const ns = await bed.namespace("dry");
      const manifest = await renderChart(RELEASE, [...args], ns);
      const count = parseManifest(manifest).length;
      const out = await kubectl(bed, ["apply", "--dry-run=server", "-n", ns, "-f", "-"], manifest);
      const accepted = out.split("\n").filter((l) => / \(server dry run\)$/.test(l));
      assert.equal(accepted.length, count, out);
    });
  }

  test("install, upgrade and uninstall the seeds' topology", async () => {
    const ns = await bed.namespace("ha");
    await helm(["install", RELEASE, CHART, "-n", ns, ...HA, "--wait", "--timeout", "5m"]);

    const manifest = parseManifest(await helm(["get", "manifest", RELEASE, "-n", ns]));
    for (const o of manifest) {
      await kubectl(bed, ["get", "-n", o.metadata.namespace ?? ns, o.kind, o.metadata.name]);
    }
    const deployments = manifest.filter((o) => o.kind === "Deployment");
    assert.equal(deployments.length, 4, "api, relay, agent, pgbouncer");
    for (const d of deployments) {
      await kubectl(bed, ["rollout", "status", "-n", ns, `deployment/${d.metadata.name}`]);
    }
    const replicas = async (name: string) =>
      JSON.parse(await kubectl(bed, ["get", "-n", ns, "deployment", name, "-o", "json"])).status;
    await eventually(
      async () => {
        for (const [d, n] of [
          ["streamspace-api", 3],
          ["streamspace-relay", 3],
          ["streamspace-agent", 2],
        ] as const) {
          const s = await replicas(d);
          assert.equal(s.readyReplicas, n, `${d}: ${JSON.stringify(s)}`);
        }
      },
      { timeoutMs: 120_000 },
    );
    const apiPods = (await json(ns, "pods", "-l", "app.kubernetes.io/component=api")).items;
    const nodes = new Set(apiPods.map((p) => p.spec.nodeName));
    assert.equal(nodes.size, 3, "hard anti-affinity puts each API pod on its own node");
    for (const sts of ["streamspace-redis", "streamspace-postgresql"]) {
      await kubectl(bed, ["rollout", "status", "-n", ns, `statefulset/${sts}`, "--timeout=120s"]);
    }

    const secrets = async () =>
      Object.fromEntries(
        (await json(ns, "secrets")).items
          .filter((s) => s.metadata.name.startsWith(RELEASE))
          .map((s) => [s.metadata.name, s.data]),
      );
    const before = await secrets();
    assert.deepEqual(Object.keys(before).sort(), [
      "streamspace-connections",
      "streamspace-secrets",
    ]);
    const apiBefore = JSON.parse(
      await kubectl(bed, ["get", "-n", ns, "deployment/streamspace-api", "-o", "json"]),
    );

    await helm([
      "upgrade",
      RELEASE,
      CHART,
      "-n",
      ns,
      ...HA,
      "--set",
      "api.logLevel=debug",
      "--wait",
      "--timeout",
      "5m",
    ]);
    await kubectl(bed, ["rollout", "status", "-n", ns, "deployment/streamspace-api"]);
    const apiAfter = JSON.parse(
      await kubectl(bed, ["get", "-n", ns, "deployment/streamspace-api", "-o", "json"]),
    );
    const checksum = (d: K8sObject) => d.spec.template.metadata.annotations["checksum/config"];
    assert.notEqual(checksum(apiAfter), checksum(apiBefore), "a new pod template");
    assert.ok(apiAfter.metadata.generation > apiBefore.metadata.generation);
    await eventually(
      async () => {
        const pods = (await json(ns, "pods", "-l", "app.kubernetes.io/component=api")).items;
        const hash = apiAfter.spec.template.metadata.annotations["checksum/config"];
        assert.equal(pods.length, 3);
        for (const p of pods) assert.equal(p.metadata.annotations?.["checksum/config"], hash);
      },
      { timeoutMs: 120_000 },
    );
    const cm = JSON.parse(
      await kubectl(bed, ["get", "-n", ns, "configmap/streamspace-api", "-o", "json"]),
    );
    assert.equal(cm.data.LOG_LEVEL, "debug");
    assert.deepEqual(await secrets(), before, "no Secret changed across the upgrade");

    await helm(["uninstall", RELEASE, "-n", ns, "--wait", "--timeout", "5m"]);
    await eventually(
      async () => {
        assert.deepEqual(await leftovers(ns), [
          "PersistentVolumeClaim/data-streamspace-postgresql-0",
        ]);
      },
      { timeoutMs: 120_000 },
    );
  });

  test("uninstall without keepOnUninstall leaves nothing", async () => {
    const ns = await bed.namespace("trial");
    await helm([
      "install",
      RELEASE,
      CHART,
      "-n",
      ns,
      "--set",
      "postgresql.persistence.keepOnUninstall=false",
      "--wait",
      "--timeout",
      "5m",
    ]);
    await kubectl(bed, ["rollout", "status", "-n", ns, "statefulset/streamspace-postgresql"]);
    await eventually(
      async () => {
        const pvcs = (await json(ns, "persistentvolumeclaims")).items;
        assert.equal(pvcs.length, 1, "the Postgres claim exists while installed");
      },
      { timeoutMs: 60_000 },
    );
    await helm(["uninstall", RELEASE, "-n", ns, "--wait", "--timeout", "5m"]);
    await eventually(async () => assert.deepEqual(await leftovers(ns), []), {
      timeoutMs: 120_000,
    });
  });
});
