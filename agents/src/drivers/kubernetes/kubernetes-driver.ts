/**
 * KubernetesDriver runs each session as a Deployment + Service (+ home claim) in NAMESPACE
 * (kubernetes-session-spawn.ts), labelled with the session, the agent and the owner.
 *
 * Meanings, decided here and documented in agents/README.md:
 * - state comes from two informers (kube-informer.ts) over the agent's labelled Deployments and
 *   pods: list once, then watch; nothing polls. An operation waits for the watch to show its
 *   outcome: running when a pod is Ready (its address is the VNC endpoint, as the local
 *   driver's 127.0.0.1:port is), failed with the cluster's reason in words
 *   (kubernetes-session-state.ts), and a start that fails removes what it made;
 * - hibernate = scale to 0 (done when no pod is left; the Service and home claim stay),
 *   wake = scale to 1 (done when a pod is Ready again, at a new address);
 * - stop = delete the Deployment in the foreground (done when it and its pods are gone; the
 *   garbage collector removes the Service and claim it owns);
 * - a restarted agent, or a new leader, finds its sessions again by label; the control plane
 *   reconciles that inventory (unknown sessions get a StopSession, missing ones fail as lost);
 * - changes nobody asked for are reported as events: a Deployment deleted behind the agent's
 *   back (stopped), a running desktop that crashes (failed), a pod replaced at a new address.
 */
import { setMaxListeners } from "node:events";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "@streamspace/common/log";
import { createKubeClients, type KubeClients, loadKubeConfig } from "../../ha/kubernetes-client.ts";
import {
  type Driver,
  DriverError,
  type DriverEventListener,
  type DriverSession,
  type StartSpec,
  type VncEndpoint,
} from "../../runtime/driver.ts";
import { kubeFailure } from "./kube-errors.ts";
import { KubeInformer, type ListPage } from "./kube-informer.ts";
import { SessionObjects } from "./kubernetes-session-objects.ts";
import { agentSelector, isValidSessionId, objectName } from "./kubernetes-session-spawn.ts";
import {
  IN_FLUX,
  type ObservedSession,
  observeSession,
  reportKey,
  type SessionDeployment,
  type SessionPod,
  toDriverSession,
  toSessionDeployment,
  toSessionPod,
} from "./kubernetes-session-state.ts";
import { EndedRecords } from "./kubernetes-session-store.ts";
import { SessionWaits } from "./session-waits.ts";

/** Options; `kubeConfig` and `clients` default to loadKubeConfig() (KUBECONFIG, in-cluster). */
export interface KubernetesDriverOptions {
  namespace: string;
  agentId: string;
  log: Logger;
  kubeConfig?: KubeConfig;
  clients?: KubeClients;
  /** Server-side watch timeout of the informers, in seconds. */
  watchTimeoutS?: number;
}

/** Why a session whose Deployment vanished is reported stopped. */
export const DELETED_OUTSIDE =
  "its Kubernetes Deployment was deleted outside StreamSpace (kubectl or another controller); start a new session";

/** The Kubernetes driver; create with `KubernetesDriver.open`. */
export class KubernetesDriver implements Driver {
  readonly name = "kubernetes";
  private readonly deployments: KubeInformer<SessionDeployment>;
  private readonly pods: KubeInformer<SessionPod>;
  private readonly depBySession = new Map<string, SessionDeployment>();
  private readonly podsBySession = new Map<string, Map<string, SessionPod>>();
  private readonly listeners = new Set<DriverEventListener>();
  /** What was last reported for each session (operation results and events), to report changes once. */
  private readonly reported = new Map<string, string>();
  private readonly waits = new SessionWaits();
  private readonly endedRecords: EndedRecords;
  private readonly objects: SessionObjects;
  private closed = false;

  private constructor(
    private readonly opts: KubernetesDriverOptions,
    readonly clients: KubeClients,
  ) {
    const ns = opts.namespace;
    const common = {
      labelSelector: agentSelector(opts.agentId),
      clients,
      log: opts.log,
      watchTimeoutS: opts.watchTimeoutS,
    };
    this.deployments = new KubeInformer({
      ...common,
      name: "deployments",
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      list: (o) =>
        clients.apps.listNamespacedDeployment({ namespace: ns, ...o }) as Promise<ListPage>,
      transform: toSessionDeployment,
    });
    this.pods = new KubeInformer({
      ...common,
      name: "pods",
      path: `/api/v1/namespaces/${ns}/pods`,
      list: (o) => clients.core.listNamespacedPod({ namespace: ns, ...o }) as Promise<ListPage>,
      transform: toSessionPod,
    });
    this.deployments.on((type, d) => {
      if (!d.sessionId) return;
      if (type === "deleted") {
        if (this.depBySession.get(d.sessionId)?.name === d.name)
          this.depBySession.delete(d.sessionId);
      } else this.depBySession.set(d.sessionId, d);
      this.changed(d.sessionId);
    });
    this.pods.on((type, p) => {
      if (!p.sessionId) return;
      let m = this.podsBySession.get(p.sessionId);
      if (type === "deleted") {
        m?.delete(p.name);
        if (m?.size === 0) this.podsBySession.delete(p.sessionId);
      } else {
        if (!m) {
          m = new Map();
          this.podsBySession.set(p.sessionId, m);
        }
        m.set(p.name, p);
      }
      this.changed(p.sessionId);
    });
    this.endedRecords = new EndedRecords(clients, ns, opts.agentId, opts.log);
    this.objects = new SessionObjects(clients, ns, opts.agentId);
    this.waits.onIdle = (id) => this.changed(id);
  }

  /** Opens the driver: lists the agent's objects (re-adopting them) and starts watching. */
  static async open(opts: KubernetesDriverOptions): Promise<KubernetesDriver> {
    const clients = opts.clients ?? createKubeClients(opts.kubeConfig ?? loadKubeConfig());
    const d = new KubernetesDriver(opts, clients);
    const ns = opts.namespace;
    try {
      await Promise.all([
        d.deployments.start().catch((e) => {
          throw kubeFailure(e, { verb: "list", resource: "deployments", namespace: ns });
        }),
        d.pods.start().catch((e) => {
          throw kubeFailure(e, { verb: "list", resource: "pods", namespace: ns });
        }),
        d.endedRecords.load(),
      ]);
    } catch (err) {
      d.deployments.stop();
      d.pods.stop();
      if (!opts.clients) clients.close();
      throw err;
    }
    // What runs now is what a Hello reports; only later changes become events.
    for (const id of d.depBySession.keys()) d.reported.set(id, reportKey(d.observe(id)));
    opts.log.info("kubernetes driver watching", {
      namespace: ns,
      sessions: d.depBySession.size,
      server: clients.config.getCurrentCluster()?.server,
    });
    return d;
  }

  async start(spec: StartSpec, signal: AbortSignal): Promise<DriverSession> {
    const id = this.checkId(spec.sessionId);
    return this.waits.locked(id, async () => {
      if (this.endedRecords.has(id)) await this.endedRecords.remove([id]); // a start wins over an old ending
      if (this.observe(id).phase === "deleting")
        await this.waitFor(id, signal, "its previous copy to be deleted", (o) =>
          o.phase === "absent" ? true : undefined,
        );
      let dep = this.depBySession.get(id);
      if (!dep) {
        dep = await this.objects.createDeployment(spec);
        // A Deployment just created may not have reached the watch yet; judge nothing before it has.
        await this.waitFor(id, signal, "the watch to show its Deployment", () =>
          this.depBySession.has(id) ? true : undefined,
        );
      }
      const now = this.observe(id);
      if (now.phase === "running" || now.phase === "hibernated") return this.settle(id, now);
      await this.objects.ensureCompanions(spec, dep);
      const o = await this.waitFor(id, signal, "the desktop to become ready", (x) =>
        x.phase === "running" || x.phase === "failed" || x.phase === "absent" ? x : undefined,
      );
      if (o.phase === "failed") {
        this.opts.log.warn("session failed to start; removing its objects", {
          sessionId: id,
          reason: o.reason,
        });
        await this.objects.deleteDeployment(this.nameOf(id)).catch(() => {});
        this.reported.delete(id);
        throw new DriverError(
          /Unschedulable|ResourceQuota/.test(o.reason) ? "capacity" : "unavailable",
          o.reason,
        );
      }
      if (o.phase === "absent")
        throw new DriverError(
          "unavailable",
          `session ${id} was deleted while it started; start it again`,
        );
      return this.settle(id, o);
    });
  }

  async stop(sessionId: string, signal: AbortSignal): Promise<DriverSession> {
    const id = this.checkId(sessionId);
    return this.waits.locked(id, async () => {
      await this.remove(id, signal);
      if (this.endedRecords.has(id)) await this.endedRecords.remove([id]); // the stop's result tells the control plane
      return { sessionId: id, state: "stopped" };
    });
  }

  async hibernate(sessionId: string, signal: AbortSignal): Promise<DriverSession> {
    const id = this.checkId(sessionId);
    return this.waits.locked(id, async () => {
      const dep = this.existing(id);
      if (dep.replicas !== 0) await this.objects.scale(dep.name, 0);
      const o = await this.waitFor(id, signal, "the desktop's pod to stop", (x) =>
        x.phase === "hibernated" || x.phase === "absent" ? x : undefined,
      );
      if (o.phase === "absent") throw this.gone(id);
      return this.settle(id, o);
    });
  }

  async wake(sessionId: string, signal: AbortSignal): Promise<DriverSession> {
    const id = this.checkId(sessionId);
    return this.waits.locked(id, async () => {
      const dep = this.existing(id);
      if (dep.replicas === 0) await this.objects.scale(dep.name, 1);
      const o = await this.waitFor(id, signal, "the desktop to become ready again", (x) =>
        x.phase === "running" || x.phase === "failed" || x.phase === "absent" ? x : undefined,
      );
      if (o.phase === "absent") throw this.gone(id);
      if (o.phase === "failed") throw new DriverError("unavailable", o.reason);
      return this.settle(id, o);
    });
  }

  async list(): Promise<DriverSession[]> {
    const out: DriverSession[] = [];
    for (const id of this.depBySession.keys()) {
      const s = toDriverSession(id, this.observe(id));
      if (s) out.push(s);
    }
    return out;
  }

  endpoint(sessionId: string): VncEndpoint | undefined {
    const o = this.observe(sessionId);
    return o.phase === "running" ? { host: o.host, port: o.port } : undefined;
  }

  async ended(): Promise<DriverSession[]> {
    return this.endedRecords
      .entries()
      .map(([sessionId, reason]) => ({ sessionId, state: "stopped" as const, reason }));
  }

  async forgetEnded(sessionIds: readonly string[]): Promise<void> {
    await this.endedRecords.remove(sessionIds.filter(isValidSessionId));
  }

  async stopAll(reason: string, signal: AbortSignal): Promise<DriverSession[]> {
    const ids = [...this.depBySession.keys()];
    // Every session's wait listens on this one signal.
    setMaxListeners(ids.length + 10, signal);
    const results = await Promise.allSettled(
      ids.map((id) =>
        this.waits.locked(id, async () => {
          await this.remove(id, signal);
          return id;
        }),
      ),
    );
    const stopped: DriverSession[] = [];
    for (const r of results) {
      if (r.status === "fulfilled") stopped.push({ sessionId: r.value, state: "stopped", reason });
      else this.opts.log.warn("could not stop a session", { err: r.reason });
    }
    // Recorded once the objects are gone: a record saying "stopped" never hides a live desktop.
    await this.endedRecords.add(stopped.map((s) => ({ sessionId: s.sessionId, reason })));
    return stopped;
  }

  onEvent(listener: DriverEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    // The objects stay: the next driver (a restart, the new leader) finds them by label.
    this.closed = true;
    this.deployments.stop();
    this.pods.stop();
    await this.waits.close(
      new DriverError("unavailable", "the agent is shutting down; retry the command"),
    );
    if (!this.opts.clients) this.clients.close();
  }

  /** Requests made so far (benchmarks report them per session). */
  get requestCount(): number {
    return this.clients.requests.total;
  }

  private observe(id: string): ObservedSession {
    const pods = this.podsBySession.get(id);
    return observeSession(this.depBySession.get(id), pods ? [...pods.values()] : []);
  }

  private checkId(id: string): string {
    if (!isValidSessionId(id))
      throw new DriverError(
        "invalid_argument",
        `session id ${JSON.stringify(id)} must be 1-63 characters of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit`,
      );
    return id;
  }

  private existing(id: string): SessionDeployment {
    const dep = this.depBySession.get(id);
    if (!dep)
      throw new DriverError(
        "not_found",
        `session ${id} does not run on this agent; start it first`,
      );
    if (dep.deleting)
      throw new DriverError(
        "invalid_state",
        `session ${id} is being stopped; it cannot change now`,
      );
    return dep;
  }

  private gone(id: string): DriverError {
    return new DriverError("not_found", `session ${id} was deleted meanwhile; start it again`);
  }

  private nameOf(id: string): string {
    return this.depBySession.get(id)?.name ?? objectName(id);
  }

  /** Records an operation's result as reported, so the watch does not report it again. */
  private settle(id: string, o: ObservedSession): DriverSession {
    this.reported.set(id, reportKey(o));
    const s = toDriverSession(id, o);
    if (!s)
      throw new DriverError("unavailable", `session ${id} changed while the command ran; retry it`);
    return s;
  }

  private waitFor<T>(
    id: string,
    signal: AbortSignal,
    what: string,
    check: (o: ObservedSession) => T | undefined,
  ): Promise<T> {
    return this.waits.until(
      id,
      signal,
      () => check(this.observe(id)),
      () => {
        const o = this.observe(id);
        const where = o.phase === "starting" ? ` (${o.waitingOn})` : ` (it is ${o.phase})`;
        return new DriverError(
          "unavailable",
          `session ${id}: gave up waiting for ${what} at the command's deadline${where}; retry the command`,
        );
      },
    );
  }

  /** Deletes the session and waits until the watch shows it gone. */
  private async remove(id: string, signal: AbortSignal): Promise<void> {
    const dep = this.depBySession.get(id);
    if (!dep) {
      this.reported.delete(id);
      return;
    }
    if (!dep.deleting) await this.objects.deleteDeployment(dep.name);
    await this.waitFor(id, signal, "its Deployment and pods to be deleted", (o) =>
      o.phase === "absent" ? true : undefined,
    );
    this.reported.delete(id);
  }

  /** Something about a session changed: wake its waiters, and report what nobody asked for. */
  private changed(id: string): void {
    this.waits.notify(id);
    if (this.closed || this.waits.busy(id)) return;
    const o = this.observe(id);
    const before = this.reported.get(id);
    if (o.phase === "absent") {
      if (before === undefined) return;
      this.reported.delete(id);
      this.emit({ sessionId: id, state: "stopped", reason: DELETED_OUTSIDE });
      return;
    }
    const key = reportKey(o);
    if (key === IN_FLUX || key === before) return;
    this.reported.set(id, key);
    const s = toDriverSession(id, o);
    if (s) this.emit(s);
  }

  private emit(s: DriverSession): void {
    this.opts.log.info("session changed on its own", { sessionId: s.sessionId, state: s.state });
    for (const fn of this.listeners) fn(s);
  }
}
