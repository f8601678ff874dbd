/**
 * A bounded single-consumer queue that turns pushes from anywhere (hub, outbox, timers) into
 * the async iterable a Connect server-stream handler yields from. It never grows past its
 * bound: a stream whose agent cannot keep up is cut, and the outbox redelivers what was lost.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((err: unknown) => void) | undefined;
  private ended = false;
  private error: unknown;

  constructor(readonly limit: number) {}

  /** Number of queued items not yet taken by the consumer. */
  get size(): number {
    return this.items.length;
  }

  /** True once end() or fail() was called. */
  get closed(): boolean {
    return this.ended;
  }

  /** Queues an item; false when the queue is closed or full (the caller decides what to do). */
  push(item: T): boolean {
    if (this.ended) return false;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.limit) return false;
    this.items.push(item);
    return true;
  }

  /** Ends the iteration after the queued items are consumed. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
  }

  /** Ends the iteration with an error, dropping queued items (the stream is being cut). */
  fail(err: unknown): void {
    if (this.ended && this.error !== undefined) return;
    this.ended = true;
    this.error = err;
    this.items.length = 0;
    if (this.failWaiter) {
      const f = this.failWaiter;
      this.waiter = undefined;
      this.failWaiter = undefined;
      f(err);
    }
  }

  private wake(): void {
    if (this.waiter && this.items.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.error !== undefined) return Promise.reject(this.error);
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.end();
        return { value: undefined, done: true };
      },
    };
  }
}
