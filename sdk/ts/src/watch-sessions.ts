/**
 * `watchSessions` as an async iterator that outlives the stream under it. A watch is one
 * server stream on one control-plane pod; pods restart, proxies cut idle connections and
 * laptops sleep, so the iterator reconnects with jittered backoff and covers the gap:
 *
 * * watching one session, the server sends its current state first on every (re)connect;
 * * watching all, the iterator lists the visible sessions after reconnecting and yields those
 *   that changed while it was away (`replayed: true`).
 *
 * Every session's `version` grows with each transition, so an event whose version was already
 * yielded is dropped: the consumer sees each state at most once, in order per session.
 * Deletions during a gap cannot be seen by listing; they arrive only if the stream was up.
 *
 * The listing is sent after the new stream's request. The server answers a watch only with its
 * first change (no headers before), so a client cannot know exactly when its subscription is
 * live; a change committed between the list's snapshot and the subscription would be missed.
 * Requests on one connection are handled in order, which makes that window very small.
 */
import { Code } from "@connectrpc/connect";
import { StreamSpaceError } from "./errors.ts";
import type { Session } from "./gen/streamspace/v1/types_pb.ts";
import { delay } from "./interceptors.ts";

/** One change, as the stream or a catch-up listing delivered it. */
export interface SessionEvent {
  session: Session;
  deleted: boolean;
  /** True for a state found by the catch-up after a reconnect rather than streamed. */
  replayed: boolean;
}

export interface WatchSessionsOptions {
  /** Watch one session (its current state comes first); empty means every visible session. */
  sessionId?: string;
  /** Ends the iteration (the iterator then returns quietly). */
  signal?: AbortSignal;
  /** List after a reconnect to yield what changed during the gap (default true). */
  catchUp?: boolean;
  /** Backoff between reconnects: first delay and cap (defaults 100 ms and 5 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many failed reconnects in a row (default: never). */
  maxAttempts?: number;
  /** Told before each reconnect, with the error that ended the previous stream. */
  onReconnect?: (attempt: number, cause: StreamSpaceError | undefined) => void;
}

/** What the iterator needs from the client, so it can be tested against any transport. */
export interface WatchDeps {
  open(
    req: { sessionId: string },
    signal: AbortSignal,
  ): AsyncIterable<{ session?: Session; deleted: boolean }>;
  listVisible(signal: AbortSignal): AsyncIterable<Session>;
  /** Refreshes the access token after the stream was refused; true when a retry may succeed. */
  reauthenticate(): Promise<boolean>;
}

/** Codes after which reconnecting cannot help: the request itself is wrong or not allowed. */
const FINAL = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.PermissionDenied,
  Code.FailedPrecondition,
  Code.Unimplemented,
  Code.OutOfRange,
]);

/** Yields session changes until `signal` aborts, the consumer stops, or a final error. */
export async function* watchSessions(
  deps: WatchDeps,
  opts: WatchSessionsOptions = {},
): AsyncGenerator<SessionEvent, void, undefined> {
  const sessionId = opts.sessionId ?? "";
  const seen = new Map<string, bigint>();
  const stop = new AbortController();
  const onAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const fresh = (s: Session) => {
    const last = seen.get(s.id);
    if (last !== undefined && last >= s.version) return false;
    seen.set(s.id, s.version);
    return true;
  };
  let failures = 0;
  let connectedBefore = false;
  let reauthenticated = false;
  let cause: StreamSpaceError | undefined;
  try {
    while (!stop.signal.aborted) {
      if (connectedBefore || failures > 0) {
        if (opts.maxAttempts !== undefined && failures >= opts.maxAttempts && cause) throw cause;
        opts.onReconnect?.(failures + 1, cause);
        const cap = Math.min(
          opts.maxDelayMs ?? 5_000,
          (opts.initialDelayMs ?? 100) * 2 ** failures,
        );
        await delay(failures === 0 ? 0 : Math.random() * cap, stop.signal);
        if (stop.signal.aborted) return;
      }
      const call = new AbortController();
      const cut = () => call.abort();
      stop.signal.addEventListener("abort", cut, { once: true });
      try {
        const stream = deps.open({ sessionId }, call.signal);
        const catchUp = connectedBefore && !sessionId && (opts.catchUp ?? true);
        // Open the stream first, then list, so nothing falls between the two.
        const iterator = stream[Symbol.asyncIterator]();
        const first = iterator.next();
        first.catch(() => {});
        if (catchUp) {
          for await (const s of deps.listVisible(call.signal)) {
            if (fresh(s)) yield { session: s, deleted: false, replayed: true };
          }
        }
        connectedBefore = true;
        for (let r = await first; !r.done; r = await iterator.next()) {
          failures = 0;
          reauthenticated = false;
          const s = r.value.session;
          if (!s) continue;
          if (r.value.deleted) {
            seen.delete(s.id);
            yield { session: s, deleted: true, replayed: false };
          } else if (fresh(s)) {
            yield { session: s, deleted: false, replayed: false };
          }
        }
        cause = undefined; // the server ended the stream (pod draining): reconnect at once
      } catch (err) {
        if (stop.signal.aborted) return;
        const e = StreamSpaceError.fromUnknown(err);
        if (FINAL.has(e.code)) throw e;
        if (e.code === Code.Unauthenticated) {
          if (reauthenticated || !(await deps.reauthenticate())) throw e;
          reauthenticated = true;
        }
        cause = e;
        failures++;
      } finally {
        stop.signal.removeEventListener("abort", cut);
        call.abort();
      }
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    stop.abort();
  }
}
