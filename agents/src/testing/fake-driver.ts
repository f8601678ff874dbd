/**
 * An in-memory Driver for runtime tests: no processes, configurable delays, and a record of
 * every call, so tests can prove a command ran exactly once and that slow work overlaps.
 */
import {
  type Driver,
  DriverError,
  type DriverEventListener,
  type DriverSession,
  type StartSpec,
} from "../runtime/driver.ts";

/** A recorded driver call. */
export interface DriverCall {
  op: "start" | "stop" | "hibernate" | "wake";
  sessionId: string;
}

/** Fake driver; `startDelayMs` makes starts slow, `hang` makes them never finish. */
export class FakeDriver implements Driver {
  readonly name = "fake";
  readonly calls: DriverCall[] = [];
  readonly sessions = new Map<string, DriverSession>();
  /** Sessions kept as ended until forgetEnded(), like a real driver's records. */
  readonly endedSessions = new Map<string, DriverSession>();
  startDelayMs = 0;
  hang = false;
  /** What platformProblem() answers (a Docker engine that is down, say). */
  problem: string | undefined;
  private readonly listeners = new Set<DriverEventListener>();
  private nextPort = 5900;

  constructor(initial: DriverSession[] = []) {
    for (const s of initial) {
      if (s.state === "stopped" || s.state === "failed") this.endedSessions.set(s.sessionId, s);
      else this.sessions.set(s.sessionId, s);
    }
  }

  platformProblem(): string | undefined {
    return this.problem;
  }

  async start(spec: StartSpec, signal: AbortSignal): Promise<DriverSession> {
    this.calls.push({ op: "start", sessionId: spec.sessionId });
    if (this.hang)
      await new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason)),
      );
    if (this.startDelayMs) await new Promise((r) => setTimeout(r, this.startDelayMs));
    const existing = this.sessions.get(spec.sessionId);
    if (existing) return existing;
    const s: DriverSession = {
      sessionId: spec.sessionId,
      state: "running",
      endpoint: { host: "127.0.0.1", port: this.nextPort++ },
    };
    this.sessions.set(s.sessionId, s);
    return s;
  }

  async stop(sessionId: string): Promise<DriverSession> {
    this.calls.push({ op: "stop", sessionId });
    this.sessions.delete(sessionId);
    return { sessionId, state: "stopped" };
  }

  async hibernate(sessionId: string): Promise<DriverSession> {
    return this.set("hibernate", sessionId, "hibernated");
  }

  async wake(sessionId: string): Promise<DriverSession> {
    return this.set("wake", sessionId, "running");
  }

  async list(): Promise<DriverSession[]> {
    return [...this.sessions.values()];
  }

  async ended(): Promise<DriverSession[]> {
    return [...this.endedSessions.values()];
  }

  async forgetEnded(sessionIds: readonly string[]): Promise<void> {
    for (const id of sessionIds) this.endedSessions.delete(id);
  }

  async stopAll(reason: string): Promise<DriverSession[]> {
    const out: DriverSession[] = [];
    for (const id of [...this.sessions.keys()]) {
      this.calls.push({ op: "stop", sessionId: id });
      this.sessions.delete(id);
      const s: DriverSession = { sessionId: id, state: "stopped", reason };
      this.endedSessions.set(id, s);
      out.push(s);
    }
    return out;
  }

  endpoint(sessionId: string) {
    return this.sessions.get(sessionId)?.endpoint;
  }

  onEvent(listener: DriverEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Simulates a desktop exiting on its own. */
  exit(sessionId: string): void {
    this.sessions.delete(sessionId);
    for (const fn of this.listeners)
      fn({ sessionId, state: "stopped", reason: "the desktop exited" });
  }

  async close(): Promise<void> {}

  private set(
    op: "hibernate" | "wake",
    sessionId: string,
    state: DriverSession["state"],
  ): DriverSession {
    this.calls.push({ op, sessionId });
    const s = this.sessions.get(sessionId);
    if (!s) throw new DriverError("not_found", `session ${sessionId} does not run on this agent`);
    s.state = state;
    return s;
  }
}
