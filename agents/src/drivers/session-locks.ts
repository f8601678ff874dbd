/**
 * Per-session serialisation shared by the drivers: operations on one session run one at a
 * time (a duplicate command waits for the first and then finds the work done), operations on
 * different sessions run side by side.
 */
export class SessionLocks {
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Called when a session's last queued operation has finished. */
  onIdle: ((id: string) => void) | undefined;

  /** True while an operation on `id` runs or waits to run. */
  held(id: string): boolean {
    return this.tails.has(id);
  }

  /** Runs `fn` after every earlier operation on `id` has finished. */
  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) !== tail) return;
      this.tails.delete(id);
      this.onIdle?.(id);
    });
    return next;
  }

  /** Waits for every running or queued operation to end. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.tails.values()]);
  }
}
