/**
 * A bounded async queue: producers never wait (push says false when full), one consumer
 * iterates. The outgoing side of the agent stream uses it so a stalled connection cannot make
 * memory grow without bound and can never block the code that produces messages.
 */

/** Bounded FIFO with an async iterator for one consumer; close() ends the iteration. */
export class BoundedQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.items.length;
  }

  /** Enqueues unless full or closed; false tells the caller to apply its overflow policy. */
  push(item: T): boolean {
    if (this.closed || this.items.length >= this.capacity) return false;
    this.items.push(item);
    this.wake();
    return true;
  }

  /** Removes and returns everything not yet consumed (what a dropped stream never sent). */
  takeAll(): T[] {
    return this.items.splice(0);
  }

  /** Ends iteration after the items already queued are consumed. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
