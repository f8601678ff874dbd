/**
 * The command lines of the test bed's five processes, in one place. Everything binds to
 * 127.0.0.1 on ports the caller picked; what each flag is for is said next to it, because a
 * test bed that silently differs from a cluster makes tests prove the wrong thing.
 */
import { join } from "node:path";
import type { TestbedCerts } from "./testbed-certs.ts";

/** Ports and folders of one bed. */
export interface BedLayout {
  dir: string;
  bin: string;
  etcdPort: number;
  etcdPeerPort: number;
  apiPort: number;
  /** kubeconfig the bed's own components use (the admin identity). */
  componentKubeconfig: string;
  /** Pod addresses: inside 127.0.0.0/8, so a test can serve a "pod" on this machine. */
  podCidr: string;
  serviceCidr: string;
  certs: TestbedCerts;
}

/** One process to start. */
export interface Component {
  name: string;
  command: string;
  args: string[];
}

/** etcd: one member, no fsync (a test bed loses nothing worth keeping when it crashes). */
export function etcd(l: BedLayout): Component {
  const peer = `http://127.0.0.1:${l.etcdPeerPort}`;
  const client = `http://127.0.0.1:${l.etcdPort}`;
  return {
    name: "etcd",
    command: join(l.bin, "etcd"),
    args: [
      "--name=testbed",
      `--data-dir=${join(l.dir, "etcd")}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=testbed=${peer}`,
      "--listen-metrics-urls=",
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
  };
}

/**
 * kube-apiserver with RBAC and the default admission plugins (ResourceQuota included), and an
 * audit log of ServiceAccount requests (audit-policy.yaml) that benchmarks count.
 */
export function apiserver(l: BedLayout, auditPolicy: string): Component {
  const c = l.certs;
  return {
    name: "kube-apiserver",
    command: join(l.bin, "kube-apiserver"),
    args: [
      `--etcd-servers=http://127.0.0.1:${l.etcdPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${l.apiPort}`,
      `--tls-cert-file=${c.serverCert}`,
      `--tls-private-key-file=${c.serverKey}`,
      `--client-ca-file=${c.caCert}`,
      `--service-account-key-file=${c.serviceAccountPub}`,
      `--service-account-signing-key-file=${c.serviceAccountKey}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-cluster-ip-range=${l.serviceCidr}`,
      "--authorization-mode=RBAC",
      // The `kubernetes` Service would list 127.0.0.1, which Endpoints validation refuses.
      "--endpoint-reconciler-type=none",
      // ConfigMap watches go to etcd itself rather than the watch cache, so a test can compact
      // etcd and get a real `410 Gone` (the cache would replay its whole window instead).
      "--watch-cache-sizes=configmaps#0",
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${join(l.dir, "audit.log")}`,
      "--audit-log-mode=batch",
      "--audit-log-batch-max-wait=1s",
      "--profiling=false",
      "--v=0",
    ],
  };
}

/**
 * kube-controller-manager with the controllers sessions depend on: Deployments and ReplicaSets,
 * garbage collection (so deleting a Deployment cascades), namespaces, service accounts, quotas
 * and volume binding, with the host-path provisioner standing in for a storage driver. Node
 * lifecycle is off (KWOK's nodes send no heartbeats), and so are the endpoint controllers
 * (Endpoints and EndpointSlices refuse loopback pod addresses; nothing here routes Services).
 */
export function controllerManager(l: BedLayout): Component {
  return {
    name: "kube-controller-manager",
    command: join(l.bin, "kube-controller-manager"),
    args: [
      `--kubeconfig=${l.componentKubeconfig}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--leader-elect=false",
      "--use-service-account-credentials=false",
      `--root-ca-file=${l.certs.caCert}`,
      [
        "--controllers=deployment-controller",
        "replicaset-controller",
        "garbage-collector-controller",
        "namespace-controller",
        "serviceaccount-controller",
        "resourcequota-controller",
        "persistentvolume-binder-controller",
        "persistentvolume-protection-controller",
        "persistentvolumeclaim-protection-controller",
        "root-ca-certificate-publisher-controller",
      ].join(","),
      "--enable-hostpath-provisioner=true",
      // Resyncs are what a quiet bed would otherwise wait on; events do the real work.
      "--concurrent-deployment-syncs=10",
      "--concurrent-replicaset-syncs=10",
      "--concurrent-gc-syncs=20",
      "--kube-api-qps=200",
      "--kube-api-burst=400",
      "--v=0",
    ],
  };
}

/** kube-scheduler: real scheduling, so an impossible request ends Unschedulable with reasons. */
export function scheduler(l: BedLayout): Component {
  return {
    name: "kube-scheduler",
    command: join(l.bin, "kube-scheduler"),
    args: [
      `--kubeconfig=${l.componentKubeconfig}`,
      `--authentication-kubeconfig=${l.componentKubeconfig}`,
      `--authorization-kubeconfig=${l.componentKubeconfig}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--leader-elect=false",
      "--kube-api-qps=200",
      "--kube-api-burst=400",
      "--v=0",
    ],
  };
}

/** KWOK: fakes every node's kubelet with the stages in kwok-stages.yaml. */
export function kwok(l: BedLayout, stages: string): Component {
  return {
    name: "kwok",
    command: join(l.bin, "kwok"),
    args: [
      `--kubeconfig=${l.componentKubeconfig}`,
      `--config=${stages}`,
      "--manage-all-nodes=true",
      `--cidr=${l.podCidr}`,
      "--node-ip=127.0.0.1",
      "--v=ERROR",
    ],
  };
}
