/**
 * In-process SessionChangeBus for a single pod (and the building block of the Redis one). A
 * listener that throws must not stop delivery to the others, so each call is isolated.
 */
import type { SessionChange, SessionChangeBus } from "../domain/ports.ts";

/** Synchronous fan-out to every subscriber of this process. */
export class MemorySessionChangeBus implements SessionChangeBus {
  private readonly listeners = new Set<(c: SessionChange) => void>();

  publish(change: SessionChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch {
        // A broken watcher is its own problem; the rest still hear the change.
      }
    }
  }

  subscribe(listener: (c: SessionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Number of live subscribers (tests check that watchers unsubscribe). */
  get size(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
