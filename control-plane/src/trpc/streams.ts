/**
 * Helpers for long-lived tRPC subscriptions. A WebSocket context is built once per connection,
 * so a token revoked by logout (on any pod) or simply expired would otherwise keep streaming
 * for hours; `guarded` re-checks the credential on a timer and ends the stream with
 * UNAUTHORIZED, which the browser answers by refreshing and resubscribing.
 */
import { TRPCError } from "@trpc/server";
import type { TrpcContext } from "./init.ts";
import { toTrpcError } from "./init.ts";

/** How often a live subscription re-validates its credential. */
export const REAUTH_INTERVAL_MS = 30_000;

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `source` under a child signal, ending it when the client goes away or the credential
 * stops being valid; errors from the source are mapped through the shared error table.
 */
export async function* guarded<T>(
  ctx: TrpcContext,
  signal: AbortSignal | undefined,
  source: (signal: AbortSignal) => AsyncIterable<T>,
  reauthMs = REAUTH_INTERVAL_MS,
): AsyncGenerator<T, void, unknown> {
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) inner.abort();
  let authFailure: unknown;
  const reauth = (async () => {
    while (!inner.signal.aborted) {
      await sleep(reauthMs, inner.signal);
      if (inner.signal.aborted) return;
      try {
        const p = await ctx.deps.auth.authenticate(ctx.authorization);
        if (p.kind !== "user") throw new Error("anonymous");
      } catch (err) {
        authFailure = err;
        inner.abort();
      }
    }
  })();
  try {
    for await (const item of source(inner.signal)) {
      if (inner.signal.aborted) break;
      yield item;
    }
  } catch (err) {
    if (!inner.signal.aborted) throw toTrpcError(err, ctx.deps);
  } finally {
    inner.abort();
    signal?.removeEventListener("abort", onAbort);
    await reauth;
  }
  if (authFailure !== undefined) {
    throw new TRPCError({
      code: "UNAUTHORIZED",
      message: "Your sign-in expired or was revoked; sign in again to keep live updates.",
    });
  }
}

/**
 * Turns a listing call into a stream of snapshots, emitting only when something changed. Used
 * for agents when no push feed exists; `wake` (a push feed) shortens the wait when present.
 */
export async function* pollSnapshots<T>(
  signal: AbortSignal,
  intervalMs: number,
  load: () => Promise<T>,
  wake?: AsyncIterable<unknown>,
): AsyncGenerator<T, void, unknown> {
  let last = "";
  let poke: (() => void) | undefined;
  if (wake) {
    // Not awaited: the feed ends when `signal` aborts, which the caller guarantees.
    void (async () => {
      for await (const _ of wake) poke?.();
    })().catch(() => {});
  }
  while (!signal.aborted) {
    const snapshot = await load();
    const key = JSON.stringify(snapshot);
    if (key !== last) {
      last = key;
      yield snapshot;
    }
    await new Promise<void>((resolve) => {
      poke = resolve;
      void sleep(intervalMs, signal).then(resolve);
    });
    poke = undefined;
  }
}
