/**
 * The one interface every HA backend implements (file, Redis, and later a Kubernetes Lease),
 * so the leader elector and the shared suite (lease-backend-cases.ts) see them alike.
 *
 * Contract, checked against every backend by `runLeaseBackendCases`:
 * - `acquireOrRenew(holder, ttl)` is atomic against every other holder: it takes a free or
 *   expired lease, extends (to `ttl` from now) a lease `holder` already has, and otherwise
 *   answers false. Of several replicas racing for a free lease, exactly one wins.
 * - A holder whose lease expired and was taken by another can never renew it.
 * - `release(holder)` frees the lease only when `holder` has it, so a follower takes over
 *   without waiting for expiry, and a stale replica can never free its successor's lease.
 * - false, or a rejected promise, is an ordinary failed attempt: the elector retries every
 *   RETRY_PERIOD and steps down after RENEW_DEADLINE without a renewal.
 * Expiry should be judged by the store where it can be (Redis expires the key; a Kubernetes
 * Lease backend would compare renewTime + leaseDurationSeconds against the time it last saw the
 * record change, as client-go does), so replicas need not agree on the time.
 */

/** A lease store shared by the replicas of one AGENT_ID. */
export interface LeaseBackend {
  /** Takes the lease when free or expired, or extends it when `holder` holds it; false otherwise. */
  acquireOrRenew(holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it, so a follower need not wait for expiry. */
  release(holder: string): Promise<void>;
  /** Releases the backend's own resources (connections); the lease itself is left as it is. */
  close(): Promise<void>;
  /**
   * Optional: calls `listener` when the lease is released (or deleted), so a follower tries at
   * once instead of at its next RETRY_PERIOD and a graceful handover takes one round trip.
   * Returns the unsubscribe function. A backend that cannot tell just omits it.
   */
  onReleased?(listener: () => void): () => void;
  /**
   * Optional: in how many ms the lease, as this replica last saw it held by someone else, will
   * have expired (undefined when it does not know, or the lease is free or ours). A follower
   * then tries right at expiry instead of up to one RETRY_PERIOD after it.
   */
  nextChanceInMs?(holder: string): number | undefined;
}
