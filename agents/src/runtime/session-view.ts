/**
 * What the runtime believes the agent runs, kept from the driver's inventory, command results
 * and driver events. It answers the capacity check without calling the driver, and tells the
 * relay tunnel which sessions are live and where, after every change.
 */
import type { DriverSession, VncEndpoint } from "./driver.ts";
import type { RelayHook } from "./relay-hook.ts";

/** Session id → last known state, with relay notification on change. */
export class SessionView {
  private readonly sessions = new Map<string, DriverSession>();

  constructor(private readonly relay?: RelayHook) {}

  get size(): number {
    return this.sessions.size;
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /** Replaces everything with a fresh driver inventory (before each Hello). */
  replaceAll(inventory: readonly DriverSession[]): void {
    this.sessions.clear();
    for (const s of inventory) this.sessions.set(s.sessionId, s);
    this.notify();
  }

  /** Records one session's new state; stopped and failed sessions leave the view. */
  apply(s: DriverSession): void {
    if (s.state === "stopped" || s.state === "failed") this.sessions.delete(s.sessionId);
    else this.sessions.set(s.sessionId, s);
    this.notify();
  }

  private notify(): void {
    if (!this.relay) return;
    const live = new Map<string, VncEndpoint>();
    for (const [id, s] of this.sessions) {
      if (s.state === "running" && s.endpoint) live.set(id, s.endpoint);
    }
    this.relay.sessionsChanged(live);
  }
}
