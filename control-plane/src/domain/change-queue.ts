/**
 * A bounded async queue that turns bus callbacks into an AsyncIterable for one watcher. A slow
 * watcher must not grow memory without bound (DESIGN.md §3.6), so overflow ends the stream with
 * resource_exhausted and the client re-watches, rather than silently dropping changes.
 */
import { DomainError } from "./errors.ts";

/** Pushes never block; pulls wait. Ends on close(), abort, or overflow (as an error). */
export class ChangeQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private done = false;

  constructor(
    private readonly capacity: number,
    signal?: AbortSignal,
  ) {
    signal?.addEventListener("abort", () => this.close(), { once: true });
    if (signal?.aborted) this.close();
  }

  push(item: T): void {
    if (this.done) return;
    if (this.items.length >= this.capacity) {
      this.failure = new DomainError(
        "resource_exhausted",
        `This watcher fell more than ${this.capacity} changes behind and was closed; watch again.`,
      );
      this.close();
      return;
    }
    this.items.push(item);
    this.wake();
  }

  close(): void {
    this.done = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.done) return;
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
  }
}
