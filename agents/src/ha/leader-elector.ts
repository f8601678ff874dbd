/**
 * Leader election for several replicas of one agent id (ENABLE_HA): only the leader holds the
 * control-plane stream. It follows the client-go leaderelection rules, over any LeaseBackend:
 *
 * - a follower tries to take the lease every `retryPeriod`; it succeeds once the lease is free
 *   or expired, so a dead leader is replaced within about `leaseDuration`;
 * - the leader renews every `retryPeriod`; if it has not renewed for `renewDeadline`
 *   (< leaseDuration) it steps down *before* its lease can expire, so two replicas never act
 *   as leader at once (given clocks that agree to within leaseDuration - renewDeadline);
 * - stepping down is not final: the replica goes back to trying and can win again.
 *
 * Core code: it knows nothing of Redis or files; it talks to a LeaseBackend (lease-backend.ts).
 */
import { type Clock, systemClock, type TimerHandle } from "@streamspace/common/clock";
import type { Logger } from "@streamspace/common/log";
import type { LeaseBackend } from "./lease-backend.ts";

/** Timing and callbacks of one elector. */
export interface LeaderElectorOptions {
  backend: LeaseBackend;
  /** Unique per replica (hostname + pid + random is fine). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log: Logger;
  clock?: Clock;
}

/** Validates timing the way client-go does, with messages naming the variables. */
export function checkLeaseTiming(
  o: Pick<LeaderElectorOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">,
): void {
  if (!(o.retryPeriodMs > 0)) throw new RangeError("RETRY_PERIOD must be positive");
  if (!(o.renewDeadlineMs > o.retryPeriodMs))
    throw new RangeError("RENEW_DEADLINE must be longer than RETRY_PERIOD");
  if (!(o.leaseDurationMs > o.renewDeadlineMs))
    throw new RangeError("LEASE_DURATION must be longer than RENEW_DEADLINE");
}

/** Runs the election loop for one replica. */
export class LeaderElector {
  private leader = false;
  private lastRenew = 0;
  private timer: TimerHandle | undefined;
  private running = false;
  private ticking = false;
  private again = false;
  private offReleased: (() => void) | undefined;
  private readonly clock: Clock;

  constructor(private readonly opts: LeaderElectorOptions) {
    checkLeaseTiming(opts);
    this.clock = opts.clock ?? systemClock;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // A released lease is free now: a follower that hears of it tries at once.
    this.offReleased = this.opts.backend.onReleased?.(() => {
      if (!this.running || this.leader) return;
      this.opts.log.debug("the lease was released; trying now", { identity: this.opts.identity });
      this.tickNow();
    });
    void this.tick();
  }

  /** Stops campaigning; a leader steps down and releases the lease so a follower takes over at once. */
  async stop(): Promise<void> {
    this.halt();
    if (this.leader) {
      this.stepDown("stopping");
      await this.opts.backend.release(this.opts.identity).catch((err: unknown) => {
        this.opts.log.warn("could not release the lease; followers wait for it to expire", { err });
      });
    }
  }

  /** Stops without releasing or calling back, like a crashed process (tests and the failover bench). */
  kill(): void {
    this.halt();
    this.leader = false;
  }

  private halt(): void {
    this.running = false;
    this.offReleased?.();
    this.offReleased = undefined;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs the next attempt now (or right after the one in flight), not at the next period. */
  private tickNow(): void {
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    void this.tick();
  }

  private async attempt(): Promise<boolean> {
    const { backend, identity, leaseDurationMs, retryPeriodMs } = this.opts;
    let timeout: TimerHandle | undefined;
    try {
      return await Promise.race([
        backend.acquireOrRenew(identity, leaseDurationMs),
        new Promise<boolean>((r) => {
          timeout = this.clock.setTimeout(() => r(false), retryPeriodMs);
        }),
      ]);
    } catch (err) {
      this.opts.log.warn("lease backend call failed", { err });
      return false;
    } finally {
      if (timeout) this.clock.clearTimeout(timeout);
    }
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    this.ticking = true;
    const ok = await this.attempt();
    this.ticking = false;
    if (!this.running) return;
    const now = this.clock.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leader) {
        this.leader = true;
        this.opts.log.info("became leader", { identity: this.opts.identity });
        this.opts.onStartedLeading();
      }
    } else if (this.leader && now - this.lastRenew >= this.opts.renewDeadlineMs) {
      this.stepDown("could not renew the lease within RENEW_DEADLINE");
    }
    let wait = this.opts.retryPeriodMs;
    if (!this.leader) {
      const chance = this.opts.backend.nextChanceInMs?.(this.opts.identity);
      if (this.again) wait = 0;
      else if (chance !== undefined) wait = Math.min(wait, Math.max(0, chance + 1));
    }
    this.again = false;
    if (this.running) this.timer = this.clock.setTimeout(() => void this.tick(), wait);
  }

  private stepDown(why: string): void {
    this.leader = false;
    this.opts.log.warn("stopped leading", { identity: this.opts.identity, why });
    this.opts.onStoppedLeading();
  }
}
