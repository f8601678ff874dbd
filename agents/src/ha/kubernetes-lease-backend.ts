/**
 * LeaseBackend on a coordination.k8s.io/v1 Lease (LEASE_LOCK_NAME in LEASE_LOCK_NAMESPACE),
 * the object client-go's leader election uses, so `kubectl get lease` shows who leads.
 *
 * - Atomicity comes from the API server's optimistic concurrency: every write carries the
 *   resourceVersion it read, so of several replicas writing at once exactly one succeeds
 *   (the others get 409 Conflict and answer false). Creating a missing Lease is atomic too.
 * - Expiry is judged as client-go judges it: by when *this* replica last saw the record change
 *   (its own clock) plus the lease duration, never by comparing renewTime with the local clock,
 *   so replicas need not agree on the time. A replica that has just started has seen no change
 *   yet, so it waits one lease duration before taking a lease someone else holds.
 * - The holder renews with the resourceVersion of its own last write: one request per renewal.
 *   Anyone else changing the Lease makes that write fail (409), and the holder reads again.
 * - release() clears holderIdentity (as client-go does on a graceful step-down), and followers
 *   watch the Lease (onReleased), so one takes over within a round trip instead of at its next
 *   RETRY_PERIOD or after expiry. The watch also shows each renewal as it happens, so a
 *   follower knows when a dead leader's lease expires and tries right then (nextChanceInMs).
 * - leaseDurationSeconds is whole seconds by API definition; the exact duration (the shared
 *   suite uses sub-second ones) rides in an annotation that these replicas prefer.
 */
import { type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { type Clock, systemClock } from "@streamspace/common/clock";
import type { Logger } from "@streamspace/common/log";
import {
  apiStatusOf,
  createKubeClients,
  type KubeClients,
  loadKubeConfig,
} from "./kubernetes-client.ts";
import type { LeaseBackend } from "./lease-backend.ts";

const DURATION_MS = "streamspace.io/lease-duration-ms";

interface Seen {
  rv: string;
  holder: string;
  durationMs: number;
  transitions: number;
  /** When the current holder took it (ms); kept across renewals. */
  acquiredMs?: number;
  /** Local clock time when this replica saw the record change to what it is. */
  observedAt: number;
}

/** Options: where the Lease lives; credentials default to KUBECONFIG or in-cluster. */
export interface KubernetesLeaseOptions {
  namespace: string;
  name: string;
  /** Credentials for clients of this handle's own (closed with it). */
  kubeConfig?: KubeConfig;
  /** Clients shared with others (not closed with this handle). */
  clients?: KubeClients;
  /** Where a failing release watch is reported (once per kind of failure). */
  log?: Logger;
  clock?: Clock;
}

/** One replica's handle on the Lease. */
export class KubernetesLeaseBackend implements LeaseBackend {
  private readonly clients: KubeClients;
  private readonly owned: boolean;
  private readonly clock: Clock;
  private seen: Seen | undefined;
  private readonly releaseListeners = new Set<() => void>();
  private watching: AbortController | undefined;
  private closed = false;

  constructor(private readonly opts: KubernetesLeaseOptions) {
    this.owned = !opts.clients;
    this.clients = opts.clients ?? createKubeClients(opts.kubeConfig ?? loadKubeConfig());
    this.clock = opts.clock ?? systemClock;
  }

  async acquireOrRenew(holder: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    // The holder's renewal: one write, conditional on the version of its own last write.
    if (this.seen?.holder === holder) {
      const r = await this.write(holder, ttlMs, this.seen, now);
      if (r !== "conflict") return r;
    }
    const cur = await this.read(now);
    if (!cur) return this.create(holder, ttlMs, now);
    const held = cur.holder !== "" && cur.holder !== holder;
    if (held && now < cur.observedAt + cur.durationMs) return false;
    return (await this.write(holder, ttlMs, cur, now)) === true;
  }

  async release(holder: string): Promise<void> {
    const cur = await this.read(this.clock.now());
    if (!cur || cur.holder !== holder) return;
    // Free: no holder, and a duration that has run out for anyone who looks.
    await this.write("", 1000, cur, this.clock.now());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watching?.abort();
    if (this.owned) this.clients.close();
  }

  onReleased(listener: () => void): () => void {
    this.releaseListeners.add(listener);
    if (!this.watching) void this.watchReleases();
    return () => this.releaseListeners.delete(listener);
  }

  private warned = new Set<number>();

  private watchFailed(err: unknown): void {
    const code = (err as { statusCode?: number }).statusCode ?? 0;
    if (this.warned.has(code)) return;
    this.warned.add(code);
    this.opts.log?.warn(
      code === 403
        ? `cannot watch lease ${this.opts.name} (403 Forbidden); a released lease is taken at the next RETRY_PERIOD instead of at once; grant list and watch on leases (deploy/kubernetes/agent-rbac.yaml)`
        : "watching the lease failed; retrying",
      { namespace: this.opts.namespace, err },
    );
  }

  /** Watches this one Lease; tells the listeners whenever it is free (no holder) or gone. */
  private async watchReleases(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases`;
    let rv = "";
    let backoff = 500;
    while (!this.closed && this.releaseListeners.size > 0) {
      const ac = new AbortController();
      this.watching = ac;
      const outcome = await new Promise<"ended" | "gone" | "error">((resolve) => {
        this.clients.requests.add("WATCH");
        this.clients.watch
          .watch(
            path,
            {
              fieldSelector: `metadata.name=${this.opts.name}`,
              resourceVersion: rv,
              allowWatchBookmarks: true,
              timeoutSeconds: 300,
            },
            (type: string, obj: V1Lease & { code?: number }) => {
              if (type === "ERROR") {
                if (obj.code === 410) rv = "";
                return;
              }
              rv = obj.metadata?.resourceVersion ?? rv;
              // Every renewal seen as it happens keeps the expiry estimate exact.
              if (type === "ADDED" || type === "MODIFIED") this.rememberIfNewer(obj);
              const free = type === "DELETED" || !obj.spec?.holderIdentity;
              if (type !== "BOOKMARK" && free) for (const fn of this.releaseListeners) fn();
            },
            (err: unknown) => {
              if (err && !this.closed) this.watchFailed(err);
              resolve(err ? "error" : "ended");
            },
          )
          .then(
            (c: AbortController) => {
              if (ac.signal.aborted) c.abort();
              else ac.signal.addEventListener("abort", () => c.abort());
            },
            () => resolve("error"),
          );
      });
      if (outcome === "error" && !this.closed) {
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 30_000);
      } else backoff = 500;
    }
    this.watching = undefined;
  }

  private async read(now: number): Promise<Seen | undefined> {
    let lease: V1Lease;
    try {
      lease = await this.clients.coordination.readNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
      });
    } catch (err) {
      if (apiStatusOf(err).code === 404) {
        this.seen = undefined;
        return undefined;
      }
      throw leaseError(err, "read", this.opts);
    }
    return this.remember(lease, now);
  }

  nextChanceInMs(holder: string): number | undefined {
    const s = this.seen;
    if (!s || s.holder === "" || s.holder === holder) return undefined;
    return s.observedAt + s.durationMs - this.clock.now();
  }

  /** A watched version, unless a read already showed a newer one (versions from etcd are numbers). */
  private rememberIfNewer(lease: V1Lease): void {
    const rv = lease.metadata?.resourceVersion ?? "";
    const cur = this.seen?.rv ?? "";
    if (/^\d+$/.test(rv) && /^\d+$/.test(cur) && BigInt(rv) <= BigInt(cur)) return;
    this.remember(lease, this.clock.now());
  }

  private remember(lease: V1Lease, now: number): Seen {
    const rv = lease.metadata?.resourceVersion ?? "";
    const prev = this.seen;
    const spec = lease.spec ?? {};
    const exact = Number(lease.metadata?.annotations?.[DURATION_MS]);
    const seen: Seen = {
      rv,
      holder: spec.holderIdentity ?? "",
      durationMs:
        Number.isFinite(exact) && exact > 0 ? exact : (spec.leaseDurationSeconds ?? 15) * 1000,
      transitions: spec.leaseTransitions ?? 0,
      // The client hands MicroTime back as a string or a Date, depending on the call.
      acquiredMs: spec.acquireTime
        ? new Date(spec.acquireTime as unknown as string).getTime()
        : undefined,
      // Unchanged since last look: keep the time it changed; changed: it changed just now.
      observedAt: prev && prev.rv === rv ? prev.observedAt : now,
    };
    this.seen = seen;
    return seen;
  }

  private body(holder: string, ttlMs: number, prev: Seen | undefined, now: number): V1Lease {
    const changes = !prev || prev.holder !== holder;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: this.opts.name,
        namespace: this.opts.namespace,
        resourceVersion: prev?.rv,
        annotations: { [DURATION_MS]: String(Math.round(ttlMs)) },
        labels: { "app.kubernetes.io/managed-by": "streamspace" },
      },
      spec: {
        holderIdentity: holder || undefined,
        leaseDurationSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
        acquireTime: new V1MicroTime(changes ? now : (prev?.acquiredMs ?? now)),
        renewTime: new V1MicroTime(now),
        leaseTransitions: (prev?.transitions ?? 0) + (changes && holder ? 1 : 0),
      },
    };
  }

  /** A conditional replace: true on success, "conflict" when the Lease changed meanwhile. */
  private async write(
    holder: string,
    ttlMs: number,
    prev: Seen,
    now: number,
  ): Promise<true | "conflict"> {
    try {
      const lease = await this.clients.coordination.replaceNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
        body: this.body(holder, ttlMs, prev, now),
      });
      // Our own write: a change we made, observed now.
      this.remember(lease, now);
      return true;
    } catch (err) {
      const code = apiStatusOf(err).code;
      if (code === 409 || code === 404) {
        this.seen = undefined;
        return "conflict";
      }
      throw leaseError(err, "update", this.opts);
    }
  }

  private async create(holder: string, ttlMs: number, now: number): Promise<boolean> {
    const body = this.body(holder, ttlMs, undefined, now);
    delete body.metadata?.resourceVersion;
    try {
      const lease = await this.clients.coordination.createNamespacedLease({
        namespace: this.opts.namespace,
        body,
      });
      this.remember(lease, now);
      return true;
    } catch (err) {
      if (apiStatusOf(err).code === 409) return false; // another replica created it first
      throw leaseError(err, "create", this.opts);
    }
  }
}

function leaseError(err: unknown, verb: string, o: KubernetesLeaseOptions): Error {
  const s = apiStatusOf(err);
  const what = `${verb} lease ${o.name} in namespace ${o.namespace}`;
  const hint =
    s.code === 403
      ? "; grant the agent's ServiceAccount get, list, watch, create and update on leases (deploy/kubernetes/agent-rbac.yaml)"
      : s.code === 404
        ? `; check that namespace ${o.namespace} exists (LEASE_LOCK_NAMESPACE)`
        : "";
  return new Error(`could not ${what}: ${s.message}${hint}`, { cause: err });
}
