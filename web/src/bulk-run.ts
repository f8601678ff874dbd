/**
 * Runs one call per item with a few in flight, for the console's bulk actions and "clear
 * stopped". Each item goes through the same procedure a single click uses (same authorisation,
 * one audit entry per session), so a bulk action can never do what the caller could not do one
 * by one. Calls refused for the request budget (TOO_MANY_REQUESTS) wait the time the server
 * names and try again, so a thousand deletes finish instead of failing at the 200th.
 */

/** What became of each item. */
export interface BulkResult<T> {
  done: T[];
  failed: Array<{ item: T; error: unknown }>;
}

export interface BulkOptions {
  /** Calls in flight at once. */
  concurrency?: number;
  /** After each finished item (done or failed). */
  onProgress?: (finished: number, total: number) => void;
  /** How long to wait before retrying a rate-limited call; undefined means "not rate-limited". */
  retryAfterMs?: (error: unknown) => number | undefined;
  /** Retries per item for rate limits before it counts as failed. */
  maxRetries?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Calls `run` for every item, at most `concurrency` at a time. */
export async function runBulk<T>(
  items: readonly T[],
  run: (item: T) => Promise<unknown>,
  opts: BulkOptions = {},
): Promise<BulkResult<T>> {
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const sleep = opts.sleep ?? defaultSleep;
  const maxRetries = opts.maxRetries ?? 20;
  const result: BulkResult<T> = { done: [], failed: [] };
  let next = 0;
  let finished = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      for (let attempt = 0; ; attempt++) {
        try {
          await run(item);
          result.done.push(item);
          break;
        } catch (error) {
          const wait = opts.retryAfterMs?.(error);
          if (wait !== undefined && attempt < maxRetries) {
            await sleep(Math.max(50, wait));
            continue;
          }
          result.failed.push({ item, error });
          break;
        }
      }
      finished++;
      opts.onProgress?.(finished, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return result;
}
