/**
 * Requests per second per principal (edge of both transports): a token bucket per user and per
 * API key, so one caller cannot take a pod's capacity from everybody else. Buckets live in the
 * pod's memory: with N pods behind a balancer a caller gets up to N times the rate, which is
 * the usual trade (no shared state on every request) and documented with the settings.
 *
 * A refusal says how long to wait, in the message and as `retryAfterMs` for the transport to
 * send (Connect: a `retry-after` header/trailer; tRPC: a Retry-After header and data field).
 */
import { DomainError } from "../domain/errors.ts";
import type { Principal } from "../domain/principal.ts";

/** Sustained rate and burst; a rate of 0 means no limit. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface RateLimits {
  user: RateLimit;
  apiKey: RateLimit;
}

/** The refusal a caller gets; retryAfterMs is the wait until one more request fits. */
export class RateLimitedError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super("resource_exhausted", message);
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept at most; the least recently used go first (their bucket would be full anyway). */
const MAX_BUCKETS = 100_000;

/** One pod's buckets. `take` is called once per call, after authentication. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = () => performance.now(),
    private readonly maxBuckets = MAX_BUCKETS,
  ) {}

  /** Throws RateLimitedError when the principal has no request left; anonymous is not limited here. */
  take(p: Principal): void {
    if (p.kind !== "user") return;
    const byKey = p.via === "api_key" && p.apiKeyId !== undefined;
    const limit = byKey ? this.limits.apiKey : this.limits.user;
    if (limit.perSecond <= 0) return;
    const key = byKey ? `k:${p.apiKeyId}` : `u:${p.userId}`;
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    this.buckets.delete(key);
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxBuckets) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const retryAfterMs = Math.ceil(((1 - b.tokens) / limit.perSecond) * 1000);
    const who = byKey ? "this API key" : "your user";
    throw new RateLimitedError(
      `Too many requests from ${who}: at most ${limit.perSecond} per second (bursts of ${limit.burst}). Retry in ${(retryAfterMs / 1000).toFixed(1)} s.`,
      retryAfterMs,
    );
  }
}

/** Seconds for a Retry-After header: whole, at least 1. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}
