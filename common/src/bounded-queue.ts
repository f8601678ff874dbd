/**
 * A bounded single-consumer queue that turns pushes from anywhere (hub, outbox, timers,
 * driver events) into the async iterable a stream sends from. Producers never wait: push()
 * says false when the queue is full or closed and the caller applies its own overflow policy
 * (cut the stream and let the outbox redeliver; drop a heartbeat; resynchronise). So a stalled
 * peer can neither grow memory without bound nor block the code that produces messages.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((err: unknown) => void) | undefined;
  private ended = false;
  private failed = false;
  private error: unknown;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
  }

  /** Number of queued items not yet taken by the consumer. */
  get size(): number {
    return this.items.length;
  }

  /** True once close() or fail() was called, or the consumer stopped iterating. */
  get closed(): boolean {
    return this.ended;
  }

  /** Queues an item; false when the queue is closed or full (the caller decides what to do). */
  push(item: T): boolean {
    if (this.ended) return false;
    const w = this.waiter;
    if (w) {
      // The consumer is waiting, so the queue is empty: hand the item over directly.
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /**
   * Removes and returns everything not yet consumed: what a dropped stream never sent, for the
   * caller to requeue elsewhere.
   */
  takeAll(): T[] {
    return this.items.splice(0);
  }

  /** Refuses further pushes; iteration ends after the items already queued are consumed. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiter && this.items.length === 0) this.settle({ value: undefined, done: true });
  }

  /**
   * Ends iteration at once with `err`, dropping queued items: the stream is being cut and the
   * consumer's next read throws (a server stream turns it into its status).
   */
  fail(err: unknown): void {
    if (this.failed) return;
    this.ended = true;
    this.failed = true;
    this.error = err;
    this.items.length = 0;
    const f = this.failWaiter;
    if (f) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      f(err);
    }
  }

  private settle(r: IteratorResult<T>): void {
    const w = this.waiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    w?.(r);
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.failed) return Promise.reject(this.error);
    if (this.items.length > 0)
      return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  /**
   * One consumer. Breaking out of the loop closes the queue (later pushes say false, so
   * producers learn the stream is gone) but keeps unconsumed items for takeAll(). throw() is
   * there because connect-es aborts a client stream through it; it closes the queue the same
   * way and rethrows, as a generator would.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
      throw: async (err?: unknown) => {
        this.close();
        throw err;
      },
    };
  }
}
