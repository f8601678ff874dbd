/**
 * Applies the per-principal request budget (edge/rate-limiter.ts) to every Connect call made
 * by a signed-in caller, right after the auth interceptor has said who it is. A refusal is
 * RESOURCE_EXHAUSTED with the wait in its message and in `retry-after` (seconds; a header on
 * the Connect protocol, a trailer on gRPC).
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { RateLimitedError, type RateLimiter, retryAfterSeconds } from "../edge/rate-limiter.ts";
import { principalKey } from "./principal-context.ts";

/** Builds the interceptor; install it after the auth interceptor. */
export function createRateLimitInterceptor(limiter: RateLimiter): Interceptor {
  return (next) => async (req) => {
    try {
      limiter.take(req.contextValues.get(principalKey));
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      throw new ConnectError(err.message, Code.ResourceExhausted, {
        "retry-after": retryAfterSeconds(err.retryAfterMs),
      });
    }
    return next(req);
  };
}
