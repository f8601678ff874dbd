/**
 * The chart's additions to the Kubernetes test bed, all removed again by their dispose:
 *  - the controllers the bed leaves out but a chart install needs (StatefulSets, HPAs, PDBs), as
 *    a second kube-controller-manager from the bed's own build, so Redis/Postgres get pods and
 *    claims and the HPAs scale to their minimum;
 *  - extra KWOK nodes with a taint of their own, so hard anti-affinity (3 API pods on 3 nodes)
 *    can be scheduled without other tests' pods landing there;
 *  - the prometheus-operator CRDs as published (ServiceMonitor, PrometheusRule).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { eventually } from "@streamspace/common/testing";
import { type K8sTestbed, testbedBin } from "../../../scripts/k8s-testbed/testbed.ts";
import { apiCall, apiMust } from "../../../scripts/k8s-testbed/testbed-api.ts";
import { monitoringCrdFiles, REPO, sh } from "./chart-kit.ts";

/** The taint (and toleration key) of the chart tests' own nodes. */
export const HELM_TAINT = "streamspace.io/helm-test";

export const kubectl = (bed: K8sTestbed, args: string[], input?: string) =>
  sh("kubectl", ["--kubeconfig", bed.kubeconfig, ...args], { input });

/** Starts the StatefulSet, HPA and disruption controllers against the bed. */
export async function startExtraControllers(bed: K8sTestbed): Promise<AsyncDisposable> {
  // Under the bed's lifeline.sh (fd 3): it ends with this process even if no dispose runs.
  const child: ChildProcess = spawn(
    "bash",
    [
      join(REPO, "scripts/k8s-testbed/lifeline.sh"),
      join(testbedBin(), "kube-controller-manager"),
      `--kubeconfig=${bed.kubeconfig}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--leader-elect=false",
      "--use-service-account-credentials=false",
      "--controllers=statefulset-controller,horizontal-pod-autoscaler-controller,disruption-controller",
      "--horizontal-pod-autoscaler-sync-period=2s",
      "--v=0",
    ],
    { stdio: ["ignore", "ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (d) => {
    log = (log + d).slice(-20_000);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) throw new Error(`extra controllers exited:\n${log}`);
  return {
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Adds `n` tainted KWOK nodes named helm-node-<i>; Ready before it returns. */
export async function addTaintedNodes(bed: K8sTestbed, n: number): Promise<AsyncDisposable> {
  const names = Array.from({ length: n }, (_, i) => `helm-node-${i + 1}`);
  const taint = { key: HELM_TAINT, value: "true", effect: "NoSchedule" };
  for (const name of names) {
    await apiMust(
      bed.admin,
      "POST",
      "/api/v1/nodes",
      {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          labels: { "kubernetes.io/hostname": name, type: "kwok" },
          annotations: { "kwok.x-k8s.io/node": "fake" },
        },
        spec: { taints: [taint] },
      },
      { existsOk: true },
    );
  }
  for (const name of names) {
    await eventually(
      async () => {
        const a = await apiCall(bed.admin, "GET", `/api/v1/nodes/${name}`);
        const conds = (a.body as { status?: { conditions?: { type: string; status: string }[] } })
          .status?.conditions;
        if (!conds?.some((c) => c.type === "Ready" && c.status === "True")) {
          throw new Error(`${name} is not Ready yet`);
        }
      },
      { timeoutMs: 60_000 },
    );
    // Only the chart tests' taint stays (the API server adds not-ready on creation).
    await apiMust(bed.admin, "PATCH", `/api/v1/nodes/${name}`, { spec: { taints: [taint] } });
  }
  return {
    async [Symbol.asyncDispose]() {
      for (const name of names) await apiCall(bed.admin, "DELETE", `/api/v1/nodes/${name}`);
    },
  };
}

/** Installs the prometheus-operator CRDs (server-side: they exceed client-side apply's
 *  annotation limit) and waits until they are served. */
export async function installMonitoringCrds(bed: K8sTestbed): Promise<void> {
  const files = monitoringCrdFiles().flatMap((f) => ["-f", f]);
  await kubectl(bed, ["apply", "--server-side", "--force-conflicts", ...files]);
  await kubectl(bed, [
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/servicemonitors.monitoring.coreos.com",
    "crd/prometheusrules.monitoring.coreos.com",
  ]);
}
