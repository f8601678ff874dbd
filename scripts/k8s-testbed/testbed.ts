/**
 * A real Kubernetes API for tests: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and KWOK (a fake kubelet) from build.sh's cache, on free 127.0.0.1 ports with
 * a fresh CA, plus one fake node and a default storage class. `await using bed = await
 * startK8sTestbed()` stops every process it started even when the test fails; each process
 * runs under lifeline.sh, so it also ends when the test process dies without cleaning up.
 *
 * `npm test` starts one bed for the whole run when a selected test uses it (scripts/test.ts,
 * TEST_K8S_TESTBED); startK8sTestbed() then hands out that bed, and its dispose deletes only
 * the namespaces the caller made. Without it, each call starts a bed of its own.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../services.ts";
import { type AdminCredentials, apiCall, apiMust, waitUntil } from "./testbed-api.ts";
import { kubeconfigYaml, makeTestbedCerts } from "./testbed-certs.ts";
import {
  apiserver,
  type BedLayout,
  type Component,
  controllerManager,
  etcd,
  kwok,
  scheduler,
} from "./testbed-components.ts";
import { createNamespace, createServiceAccountKubeconfig } from "./testbed-objects.ts";

const HERE = resolve(new URL(".", import.meta.url).pathname);
/** Pod addresses: 127.77.0.0/16, away from 127.0.0.1 where every other test server listens. */
export const POD_CIDR = "127.77.0.0/16";
const SERVICE_CIDR = "10.96.0.0/16";
/** The fake node every session pod lands on. */
export const TESTBED_NODE = "kwok-node-0";
const START_TIMEOUT_MS = 120_000;

/** A running test bed (own or shared). */
export interface K8sTestbed extends AsyncDisposable {
  /** Path of a kubeconfig with the admin identity (system:masters). */
  readonly kubeconfig: string;
  readonly server: string;
  readonly admin: AdminCredentials;
  /** True when this handle borrows the run-wide bed started by `npm test`. */
  readonly shared: boolean;
  /** A fresh namespace with its default ServiceAccount in place; deleted on dispose. */
  namespace(prefix?: string): Promise<string>;
  /** A kubeconfig file that acts as ServiceAccount `name` (RBAC tests, restricted agents). */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** Where a bed keeps files; tests may put their own files there. */
  readonly dir: string;
  /** etcd's client URL (tests compact it to provoke 410 Gone). */
  readonly etcdUrl: string;
  /** JSON lines of every ServiceAccount request (audit-policy.yaml); benchmarks count them. */
  readonly auditLog: string;
  stop(): Promise<void>;
}

/** What `npm test` shares with test processes (JSON in the file TEST_K8S_TESTBED names). */
interface SharedBed {
  kubeconfig: string;
  admin: AdminCredentials;
  dir: string;
  etcdUrl: string;
}

/** The bin folder of build.sh's cache; throws with the build command when it is not built. */
export function testbedBin(): string {
  try {
    return execFileSync("bash", [join(HERE, "build.sh"), "--print-bin"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  } catch (err) {
    const why = (err as { stderr?: string }).stderr?.trim();
    throw new Error(
      `the Kubernetes test bed is not built (${why}); run "bash scripts/k8s-testbed/build.sh" once (about 26 minutes cold, cached by version).`,
    );
  }
}

interface Running {
  name: string;
  child: ChildProcess;
  log: string;
}

function launch(c: Component, dir: string): Running {
  const log = join(dir, `${c.name}.log`);
  const fd = openSync(log, "a");
  // fd 3 is the lifeline: when this process goes, the pipe closes and the component stops.
  const child = spawn("bash", [join(HERE, "lifeline.sh"), c.command, ...c.args], {
    stdio: ["ignore", fd, fd, "pipe"],
  });
  closeSync(fd);
  child.unref();
  (child.stdio[3] as Socket | null)?.unref();
  return { name: c.name, child, log };
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function exited(r: Running): boolean {
  return r.child.exitCode !== null || r.child.signalCode !== null;
}

async function stopAll(procs: Running[], graceMs = 10_000): Promise<void> {
  // Reverse start order: clients first, the API server next, etcd last.
  for (const r of [...procs].reverse()) {
    if (exited(r)) continue;
    const gone = new Promise<void>((res) => r.child.once("exit", () => res()));
    r.child.kill("SIGTERM");
    const timer = setTimeout(() => r.child.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

/** Waits for `check`, failing early (with the log) when one of `procs` exits meanwhile. */
async function ready<T>(
  what: string,
  procs: Running[],
  check: () => Promise<T | undefined>,
): Promise<T> {
  return waitUntil(
    what,
    async () => {
      const dead = procs.find(exited);
      if (dead) {
        throw new Error(`${dead.name} exited while the test bed started:\n${tail(dead.log)}`);
      }
      return check();
    },
    START_TIMEOUT_MS,
  );
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Folders of beds whose owner died without cleaning up (its processes ended with it, through
 * lifeline.sh, but a folder cannot remove itself): removed before a new bed starts there.
 */
function sweepDeadBeds(parent: string): void {
  for (const name of readdirSync(parent)) {
    if (!name.startsWith("ss-k8s-testbed-")) continue;
    const dir = join(parent, name);
    try {
      const owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
      if (owner > 0 && !alive(owner)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // no owner file (being created, or not a bed): leave it
    }
  }
}

/** Starts a bed of this process's own in a fresh folder (under `parent`, default the temp dir). */
async function startOwnTestbed(parent = tmpdir()): Promise<K8sTestbed> {
  const bin = testbedBin();
  mkdirSync(parent, { recursive: true });
  sweepDeadBeds(parent);
  const dir = mkdtempSync(join(parent, "ss-k8s-testbed-"));
  writeFileSync(join(dir, "owner.pid"), String(process.pid));
  const procs: Running[] = [];
  const namespaces: string[] = [];
  try {
    const certs = makeTestbedCerts(dir, "10.96.0.1");
    const layout: BedLayout = {
      dir,
      bin,
      etcdPort: await freePort(),
      etcdPeerPort: await freePort(),
      apiPort: await freePort(),
      componentKubeconfig: join(dir, "kubeconfig"),
      podCidr: POD_CIDR,
      serviceCidr: SERVICE_CIDR,
      certs,
    };
    const server = `https://127.0.0.1:${layout.apiPort}`;
    const etcdUrl = `http://127.0.0.1:${layout.etcdPort}`;
    const admin: AdminCredentials = {
      server,
      caCert: certs.caCert,
      adminCert: certs.adminCert,
      adminKey: certs.adminKey,
    };
    writeFileSync(
      layout.componentKubeconfig,
      kubeconfigYaml({
        server,
        caCert: certs.caCert,
        user: { certFile: certs.adminCert, keyFile: certs.adminKey },
      }),
      { mode: 0o600 },
    );
    procs.push(launch(etcd(layout), dir));
    await ready("etcd to answer /health", procs, async () => {
      const r = await fetch(`http://127.0.0.1:${layout.etcdPort}/health`).catch(() => undefined);
      return r?.ok ? true : undefined;
    });
    procs.push(launch(apiserver(layout, join(HERE, "audit-policy.yaml")), dir));
    await ready("kube-apiserver to be ready", procs, async () => {
      const r = await apiCall(admin, "GET", "/readyz", undefined, 2_000).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    });
    procs.push(launch(controllerManager(layout), dir));
    procs.push(launch(scheduler(layout), dir));
    procs.push(launch(kwok(layout, join(HERE, "kwok-stages.yaml")), dir));
    await createBaseObjects(admin);
    await ready("the fake node to be Ready", procs, async () => {
      const a = await apiCall(admin, "GET", `/api/v1/nodes/${TESTBED_NODE}`);
      const conds = (a.body as { status?: { conditions?: { type: string; status: string }[] } })
        ?.status?.conditions;
      return conds?.some((c) => c.type === "Ready" && c.status === "True") ? true : undefined;
    });
    // The API server taints a new node not-ready; the node lifecycle controller (off here, since
    // KWOK's nodes send no heartbeats) would lift it once Ready, so the bed lifts it itself.
    await apiMust(admin, "PATCH", `/api/v1/nodes/${TESTBED_NODE}`, { spec: { taints: null } });
    await ready("the default ServiceAccount", procs, async () => {
      const a = await apiCall(admin, "GET", "/api/v1/namespaces/default/serviceaccounts/default");
      return a.status === 200 ? true : undefined;
    });
    writeFileSync(
      join(dir, "testbed.json"),
      JSON.stringify({
        kubeconfig: layout.componentKubeconfig,
        admin,
        dir,
        etcdUrl,
      } satisfies SharedBed),
    );
    const stop = async () => {
      await removeHostPathVolumes(admin).catch(() => {});
      await stopAll(procs);
      rmSync(dir, { recursive: true, force: true });
    };
    return handle(
      { kubeconfig: layout.componentKubeconfig, admin, dir, etcdUrl },
      false,
      namespaces,
      stop,
    );
  } catch (err) {
    const logs = procs.map((p) => `--- ${p.name} ---\n${tail(p.log)}`).join("\n");
    await stopAll(procs, 2_000);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the Kubernetes test bed did not start: ${(err as Error).message}\n${logs}`, {
      cause: err,
    });
  }
}

/** The node KWOK manages and the default storage class (host-path provisioner). */
async function createBaseObjects(admin: AdminCredentials): Promise<void> {
  await apiMust(
    admin,
    "POST",
    "/api/v1/nodes",
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: TESTBED_NODE,
        labels: { "kubernetes.io/hostname": TESTBED_NODE, type: "kwok" },
        annotations: { "kwok.x-k8s.io/node": "fake" },
      },
    },
    { existsOk: true },
  );
  await apiMust(
    admin,
    "POST",
    "/apis/storage.k8s.io/v1/storageclasses",
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: {
        name: "standard",
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      },
      provisioner: "kubernetes.io/host-path",
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
    },
    { existsOk: true },
  );
}

/** The host-path provisioner makes folders under /tmp/hostpath_pv; remove the bed's own. */
async function removeHostPathVolumes(admin: AdminCredentials): Promise<void> {
  const a = await apiCall(admin, "GET", "/api/v1/persistentvolumes");
  const items = (a.body as { items?: { spec?: { hostPath?: { path?: string } } }[] })?.items ?? [];
  for (const pv of items) {
    const p = pv.spec?.hostPath?.path;
    if (p?.startsWith("/tmp/hostpath_pv/")) rmSync(p, { recursive: true, force: true });
  }
}

function handle(
  bed: SharedBed,
  shared: boolean,
  namespaces: string[],
  stopBed: () => Promise<void>,
): K8sTestbed {
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      // A shared bed outlives this handle, so what this handle made is removed from it.
      if (shared)
        await Promise.allSettled(
          namespaces.map((ns) => apiCall(bed.admin, "DELETE", `/api/v1/namespaces/${ns}`)),
        );
      await stopBed();
    })();
    return stopped;
  };
  return {
    kubeconfig: bed.kubeconfig,
    server: bed.admin.server,
    admin: bed.admin,
    dir: bed.dir,
    etcdUrl: bed.etcdUrl,
    auditLog: join(bed.dir, "audit.log"),
    shared,
    async namespace(prefix = "t") {
      const ns = await createNamespace(bed.admin, prefix);
      namespaces.push(ns);
      return ns;
    },
    serviceAccountKubeconfig: (namespace, name) =>
      createServiceAccountKubeconfig(bed.admin, bed.dir, namespace, name),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * A test bed for a test: the run-wide one when `npm test` started it, else a new one.
 * Dispose it (`await using`) — it stops what it started and deletes the namespaces it made.
 */
export async function startK8sTestbed(opts: { own?: boolean } = {}): Promise<K8sTestbed> {
  const file = process.env.TEST_K8S_TESTBED;
  if (file && !opts.own && existsSync(file)) {
    const bed = JSON.parse(readFileSync(file, "utf8")) as SharedBed;
    return handle(bed, true, [], async () => {});
  }
  return startOwnTestbed();
}

/** Starts a bed for a whole test run or a person (scripts/test.ts, cli.ts); `file` is what to export as TEST_K8S_TESTBED. */
export async function startRunWideTestbed(
  parent?: string,
): Promise<{ file: string; kubeconfig: string; stop(): Promise<void> }> {
  const bed = await startOwnTestbed(parent);
  return { file: join(bed.dir, "testbed.json"), kubeconfig: bed.kubeconfig, stop: bed.stop };
}
