/**
 * The thin layer between the generated clients and the wire: errors become StreamSpaceError,
 * every call carries a fresh credential (one retry after a refresh when the server says the
 * token is no longer good), and reads that found the server unreachable are retried with
 * backoff. Writes are never retried: CreateSession twice is two sessions.
 */
import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import type { Credentials } from "./credentials.ts";
import { StreamSpaceError } from "./errors.ts";

/** Methods that need no credential; sending a stale one there would only be refused. */
const ANONYMOUS = new Set([
  "streamspace.v1.AuthService/Login",
  "streamspace.v1.AuthService/Refresh",
]);

/** Idempotent reads: safe to send again when the first attempt never reached a server. */
export function isIdempotentRead(methodName: string): boolean {
  return /^(Get|List|WhoAmI)/.test(methodName);
}

/** Outermost: whatever a call throws, while opening or while streaming, is a StreamSpaceError. */
export function errorInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: rethrowing(res.message) } as StreamResponse;
    } catch (err) {
      throw StreamSpaceError.fromUnknown(err);
    }
  };
}

async function* rethrowing<T>(it: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* it;
  } catch (err) {
    throw StreamSpaceError.fromUnknown(err);
  }
}

/** Sets `authorization`; on Unauthenticated refreshes once and repeats a unary call. */
export function authInterceptor(creds: Credentials): Interceptor {
  return (next) => async (req) => {
    if (ANONYMOUS.has(`${req.service.typeName}/${req.method.name}`)) return next(req);
    const sent = await creds.authorization();
    if (sent) req.header.set("authorization", sent);
    try {
      return await next(req);
    } catch (err) {
      const code = ConnectError.from(err).code;
      if (code !== Code.Unauthenticated || req.stream || !sent) throw err;
      if (!(await creds.recover(sent))) throw err;
      const fresh = await creds.authorization();
      if (fresh) req.header.set("authorization", fresh);
      return next(req);
    }
  };
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 3; 1 turns retries off). */
  attempts?: number;
  /** First backoff; doubles each time, with full jitter (default 100 ms). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** Repeats idempotent unary reads that failed with Unavailable (connection refused or reset). */
export function retryInterceptor(opts: RetryOptions = {}): Interceptor {
  const attempts = Math.max(1, opts.attempts ?? 3);
  const initial = opts.initialDelayMs ?? 100;
  const max = opts.maxDelayMs ?? 2_000;
  return (next) => async (req) => {
    if (req.stream || !isIdempotentRead(req.method.name)) return next(req);
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (err) {
        if (attempt >= attempts || ConnectError.from(err).code !== Code.Unavailable) throw err;
        if (req.signal.aborted) throw err;
        await delay(Math.random() * Math.min(max, initial * 2 ** (attempt - 1)), req.signal);
      }
    }
  };
}

/** Waits `ms`, or less when `signal` aborts (the caller then sees the abort). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
