/**
 * The chart renders, lints and validates offline, and its values produce what they promise:
 * `helm lint`, kubeconform -strict against the Kubernetes 1.34 schemas of the kubernetes-validate
 * wheel and the prometheus-operator CRDs (never the network), and the topology of values-ha.yaml.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import {
  byKind,
  CHART,
  find,
  type K8sObject,
  KUBE_VERSION,
  kubeconform,
  parseManifest,
  REPO,
  renderChart,
  sh,
  tool,
} from "./chart-kit.ts";

const HA = ["-f", join(CHART, "values-ha.yaml")];
const PGBOUNCER_EXTERNAL = [
  "--set",
  "postgresql.enabled=false",
  "--set",
  "postgresql.external.host=db.example.internal",
  "--set",
  "postgresql.external.password=s3cret",
  "--set",
  "pgbouncer.enabled=true",
  "--set",
  "redis.enabled=false",
  "--set",
  "redis.external.url=redis://:pw@redis.example.internal:6379",
];

const env = (o: K8sObject, container = 0) =>
  Object.fromEntries(
    (o.spec.template.spec.containers[container].env ?? []).map(
      (e: { name: string; value?: string }) => [e.name, e.value ?? "(from a reference)"],
    ),
  );

describe("helm lint", () => {
  for (const [name, args] of [
    ["default values", []],
    ["values-ha.yaml", HA],
  ] as const) {
    test(name, async () => {
      const out = await sh(tool("helm"), [
        "lint",
        CHART,
        "--strict",
        "--kube-version",
        KUBE_VERSION,
        ...args,
      ]);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

describe("kubeconform -strict, offline", () => {
  for (const [name, args] of [
    ["default values", []],
    ["values-ha.yaml", HA],
    ["external Postgres behind PgBouncer, external Redis", PGBOUNCER_EXTERNAL],
  ] as const) {
    test(name, async () => {
      const manifest = await renderChart("streamspace", [...args]);
      const count = parseManifest(manifest).length;
      const out = await kubeconform(manifest);
      assert.match(
        out,
        new RegExp(
          `${count} resources found .* Valid: ${count}, Invalid: 0, Errors: 0, Skipped: 0`,
        ),
      );
    });
  }

  test("an unknown field is reported (the schemas are really used)", async () => {
    const manifest = await renderChart("streamspace");
    const broken = manifest.replace("revisionHistoryLimit: 5", "revisionHistoryLimits: 5");
    await assert.rejects(kubeconform(broken), /revisionHistoryLimits/);
  });
});

describe("values-ha.yaml gives the seeds' topology", async () => {
  const objs = parseManifest(await renderChart("streamspace", [...HA]));

  test("3–10 API pods on distinct nodes, a PDB, readiness on /ready, a preStop wait", () => {
    const api = find(objs, "Deployment", "-api");
    assert.equal(api.spec.replicas, undefined, "the HPA owns the replica count");
    const hpa = find(objs, "HorizontalPodAutoscaler", "-api");
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 10]);
    const pod = api.spec.template.spec;
    assert.ok(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution);
    assert.equal(pod.containers[0].readinessProbe.httpGet.path, "/ready");
    assert.equal(pod.containers[0].lifecycle.preStop.sleep.seconds, 5);
    assert.ok(pod.terminationGracePeriodSeconds >= 5 + 25, "grace covers preStop and the drain");
    assert.equal(find(objs, "PodDisruptionBudget", "-api").spec.minAvailable, 2);
    assert.equal(env(api).AGENT_HUB_BACKEND, undefined, "hub backend comes from the ConfigMap");
    assert.equal(find(objs, "ConfigMap", "-api").data.AGENT_HUB_BACKEND, "redis");
  });

  test("relays: HPA, PDB, a headless Service, /vnc/ hashed by path at the ingress", () => {
    assert.equal(find(objs, "HorizontalPodAutoscaler", "-relay").spec.minReplicas, 3);
    assert.equal(find(objs, "Service", "-relay-headless").spec.clusterIP, "None");
    const vnc = find(objs, "Ingress", "-vnc");
    assert.equal(
      vnc.metadata.annotations?.["nginx.ingress.kubernetes.io/upstream-hash-by"],
      "$uri",
    );
    const path = vnc.spec.rules[0].http.paths[0];
    assert.equal(path.path, "/vnc/");
    assert.match(path.backend.service.name, /-relay$/);
    const relayEnv = env(find(objs, "Deployment", "-relay"));
    assert.equal(relayEnv.RELAY_ID, "$(POD_NAME)");
    assert.equal(relayEnv.RELAY_PUBLIC_URL, "http://$(POD_IP):8081");
  });

  test("two agent replicas share one AGENT_ID and elect a leader through a Lease", () => {
    const agent = find(objs, "Deployment", "-agent");
    assert.equal(agent.spec.replicas, 2);
    const e = env(agent);
    assert.equal(e.AGENT_ID, "streamspace-k8s");
    assert.equal(e.PLATFORM, "kubernetes");
    assert.equal(e.ENABLE_HA, "true");
    assert.equal(e.HA_BACKEND, "kubernetes");
    assert.equal(e.LEASE_LOCK_NAME, "streamspace-agent-leader");
    assert.deepEqual([e.LEASE_DURATION, e.RENEW_DEADLINE, e.RETRY_PERIOD], ["15s", "10s", "2s"]);
  });

  test("the API reaches Postgres through PgBouncer in transaction pooling mode", () => {
    const cm = find(objs, "ConfigMap", "-pgbouncer");
    assert.match(cm.data["pgbouncer.ini"], /^pool_mode = transaction$/m);
    const conn = find(objs, "Secret", "-connections");
    const url = Buffer.from(conn.data["database-url"], "base64").toString();
    assert.match(url, /^postgres:\/\/streamspace:[^@]+@streamspace-pgbouncer:6432\/streamspace$/);
  });
});

describe("policies and permissions", async () => {
  const objs = parseManifest(await renderChart("streamspace"));

  test("the agent's Role is exactly the one the Kubernetes driver is tested with", () => {
    const file = readFileSync(join(REPO, "deploy/kubernetes/agent-rbac.yaml"), "utf8");
    const reference = parseAllDocuments(file)
      .map((d) => d.toJS() as K8sObject)
      .find((o) => o?.kind === "Role");
    assert.ok(reference);
    assert.deepEqual(find(objs, "Role", "-agent").rules, reference.rules);
  });

  test("session pods accept only the agent, on the VNC port", () => {
    const np = find(objs, "NetworkPolicy", "-sessions");
    assert.deepEqual(np.spec.podSelector.matchLabels, {
      "app.kubernetes.io/managed-by": "streamspace",
      "streamspace.io/agent-id": "streamspace-k8s",
    });
    assert.equal(np.spec.ingress.length, 1);
    assert.deepEqual(np.spec.ingress[0].from, [
      {
        podSelector: {
          matchLabels: {
            "app.kubernetes.io/name": "streamspace",
            "app.kubernetes.io/instance": "streamspace",
            "app.kubernetes.io/component": "agent",
          },
        },
      },
    ]);
    assert.deepEqual(np.spec.ingress[0].ports, [{ port: 5900, protocol: "TCP" }]);
  });

  test("relays admit only the ingress controller, relays, agents and Prometheus", () => {
    const np = find(objs, "NetworkPolicy", "-relay");
    const from = np.spec.ingress[0].from as K8sObject["spec"][];
    const components = from.map(
      (f: { podSelector?: { matchLabels?: Record<string, string> } }) =>
        f.podSelector?.matchLabels?.["app.kubernetes.io/component"] ??
        f.podSelector?.matchLabels?.["app.kubernetes.io/name"],
    );
    assert.deepEqual(components, ["ingress-nginx", "relay", "agent", "prometheus"]);
  });

  test("every StreamSpace container runs non-root with a read-only root filesystem", () => {
    for (const d of byKind(objs, "Deployment")) {
      const pod = d.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true, d.metadata.name);
      for (const c of pod.containers) {
        assert.equal(
          c.securityContext.readOnlyRootFilesystem,
          true,
          `${d.metadata.name}/${c.name}`,
        );
      }
    }
  });
});

describe("values that cannot work are refused with the fix", () => {
  test("several API pods without Redis", async () => {
    await assert.rejects(
      renderChart("streamspace", ["--set", "redis.enabled=false", "--set", "api.replicaCount=3"]),
      /More than one API pod or relay needs Redis/,
    );
  });

  test("PgBouncer before an external Postgres given only as a URL", async () => {
    await assert.rejects(
      renderChart("streamspace", [
        "--set",
        "postgresql.enabled=false",
        "--set",
        "postgresql.external.url=postgres://u:p@h/db",
        "--set",
        "pgbouncer.enabled=true",
      ]),
      /PgBouncer in front of an external Postgres needs postgresql.external.host/,
    );
  });
});
