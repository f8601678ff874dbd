/**
 * The container a KWOK pod does not run: for tests, a real VNC server (the built-in demo
 * desktop) on each Ready session pod's address, port 5900, for as long as the pod exists. Pod
 * addresses are in 127.77.0.0/16, so a viewer, the agent's tunnel and the relay reach them on
 * this machine exactly as they would reach a pod in a cluster.
 *
 * KWOK marks a pod Ready at once, where a kubelet would wait for the readiness probe, so
 * `serving(endpoint)` lets a test wait for what the probe would have waited for.
 */
import type { Server, Socket } from "node:net";
import { silentLogger } from "@streamspace/common/log";
import { createKubeClients, loadKubeConfig } from "../../ha/kubernetes-client.ts";
import type { VncEndpoint } from "../../runtime/driver.ts";
import { DemoDesktop } from "../../vnc/demo-desktop.ts";
import { createRfbServer } from "../../vnc/rfb-server.ts";
import { KubeInformer, type ListPage } from "./kube-informer.ts";
import { LABELS, MANAGED_BY, type SessionPod, toSessionPod } from "./kubernetes-session-state.ts";

interface Served {
  pod: string;
  desktop: DemoDesktop;
  server: Server;
  sockets: Set<Socket>;
  listening: Promise<void>;
}

/** VNC servers on the session pods of one namespace; dispose stops them all. */
export interface PodVncServers extends AsyncDisposable {
  /** Resolves once a VNC server listens at `endpoint` (a Ready pod's address). */
  serving(endpoint: VncEndpoint | undefined): Promise<void>;
  /** Addresses served now. */
  addresses(): string[];
  close(): Promise<void>;
}

/** Serves VNC on every Ready StreamSpace pod in `namespace` of the cluster `kubeconfig` names. */
export async function servePodVnc(opts: {
  kubeconfig: string;
  namespace: string;
  port?: number;
  geometry?: [number, number];
}): Promise<PodVncServers> {
  const port = opts.port ?? 5900;
  const [w, h] = opts.geometry ?? [320, 240];
  const clients = createKubeClients(loadKubeConfig(opts.kubeconfig));
  const served = new Map<string, Served>(); // by pod address
  const waiting = new Map<string, Set<() => void>>();
  const stopServing = async (ip: string) => {
    const s = served.get(ip);
    if (!s) return;
    served.delete(ip);
    s.desktop.stop();
    for (const sock of s.sockets) sock.destroy();
    await new Promise<void>((r) => s.server.close(() => r()));
  };
  const serve = (p: SessionPod) => {
    const ip = p.podIp;
    if (!ip) return;
    const cur = served.get(ip);
    if (cur?.pod === p.name) return;
    const previous = cur ? stopServing(ip) : Promise.resolve();
    const desktop = new DemoDesktop(w, h, `pod ${p.name}`);
    const server = createRfbServer({ desktop, name: p.name, log: silentLogger });
    const sockets = new Set<Socket>();
    server.on("connection", (s: Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    const listening = previous.then(
      () =>
        new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, ip, () => {
            desktop.start();
            resolve();
            for (const fn of waiting.get(ip) ?? []) fn();
          });
        }),
    );
    listening.catch(() => {});
    served.set(ip, { pod: p.name, desktop, server, sockets, listening });
  };
  const byPod = new Map<string, string>(); // pod name → address it was served on
  const pods = new KubeInformer<SessionPod>({
    name: "vnc-test-pods",
    path: `/api/v1/namespaces/${opts.namespace}/pods`,
    labelSelector: `${LABELS.managedBy}=${MANAGED_BY}`,
    clients,
    list: (o) =>
      clients.core.listNamespacedPod({ namespace: opts.namespace, ...o }) as Promise<ListPage>,
    transform: toSessionPod,
    log: silentLogger,
  });
  pods.on((type, p) => {
    const was = byPod.get(p.name);
    if (type === "deleted" || p.deleting || !p.ready || !p.podIp) {
      if (was && served.get(was)?.pod === p.name) void stopServing(was);
      byPod.delete(p.name);
      return;
    }
    byPod.set(p.name, p.podIp);
    serve(p);
  });
  await pods.start();
  for (const p of pods.values()) if (p.ready && !p.deleting && p.podIp) serve(p);
  const close = async () => {
    pods.stop();
    await Promise.all([...served.keys()].map(stopServing));
    clients.close();
  };
  return {
    async serving(endpoint) {
      if (!endpoint) throw new Error("the session has no VNC endpoint");
      const ip = endpoint.host;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const s = served.get(ip);
        if (s) return s.listening;
        if (Date.now() > deadline) throw new Error(`no Ready pod at ${ip} within 60 s`);
        await new Promise<void>((r) => {
          let set = waiting.get(ip);
          if (!set) {
            set = new Set();
            waiting.set(ip, set);
          }
          const fn = () => {
            set.delete(fn);
            r();
          };
          set.add(fn);
          setTimeout(fn, 200).unref(); // re-check; the informer may not have seen the pod yet
        });
      }
    },
    addresses: () => [...served.keys()],
    close,
    [Symbol.asyncDispose]: close,
  };
}
