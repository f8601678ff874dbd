/**
 * The contract between the agent runtime and a platform driver (local processes, Docker,
 * Kubernetes). The runtime owns the stream, dedupe and deadlines; a driver only turns one
 * session operation into platform work and reports what it observes. Every operation is
 * idempotent per session id, because the same command can reach a fresh agent process whose
 * in-memory dedupe cache is empty (commands are delivered at least once).
 */
import type { Template } from "@streamspace/proto/streamspace/v1/types_pb";

/** Where the agent reaches a session's VNC server; the relay tunnel dials this. */
export interface VncEndpoint {
  host: string;
  port: number;
}

/**
 * The state a driver can observe. It is narrower than the control plane's session state
 * machine on purpose: transitional states (`starting`, `waking`, ...) are the control plane's
 * bookkeeping, a driver only knows whether the desktop runs, is frozen, or is gone.
 */
export type DriverSessionState = "running" | "hibernated" | "stopped" | "failed";

/** What a driver knows about one session; maps 1:1 onto `SessionReport`. */
export interface DriverSession {
  sessionId: string;
  state: DriverSessionState;
  endpoint?: VncEndpoint;
  /** A sentence a person can act on when the state is `failed` or `stopped` unexpectedly. */
  reason?: string;
}

/** Everything a driver needs to start a session. */
export interface StartSpec {
  sessionId: string;
  ownerId: string;
  template: Template;
}

/**
 * Why a driver refused an operation. The runtime turns it into a failed CommandResult whose
 * message is shown to a person, so `message` must say what to do.
 */
export class DriverError extends Error {
  constructor(
    readonly code: "not_found" | "invalid_argument" | "invalid_state" | "unavailable" | "capacity",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "DriverError";
  }
}

/** Called when the driver observes a change nobody asked for (a desktop exited, say). */
export type DriverEventListener = (session: DriverSession) => void;

/**
 * A platform driver. Operations take an AbortSignal that fires at the command's deadline; a
 * driver stops waiting then, but must leave the platform in a state that a retry of the same
 * command can finish (idempotency, not rollback).
 */
export interface Driver {
  /** Short name for logs and labels: "local", "docker", "kubernetes". */
  readonly name: string;
  /** Starts the session, or returns it as it is when it already exists. */
  start(spec: StartSpec, signal: AbortSignal): Promise<DriverSession>;
  /** Stops the session and frees its resources; a session that does not exist is `stopped`. */
  stop(sessionId: string, signal: AbortSignal): Promise<DriverSession>;
  /** Freezes the session so it uses no CPU; idempotent. */
  hibernate(sessionId: string, signal: AbortSignal): Promise<DriverSession>;
  /** Resumes a hibernated session; idempotent. */
  wake(sessionId: string, signal: AbortSignal): Promise<DriverSession>;
  /** The full inventory, for Hello: every session this driver runs or holds frozen. */
  list(): Promise<DriverSession[]>;
  /** The VNC endpoint of a live session, or undefined. Cheap: the relay asks per viewer. */
  endpoint(sessionId: string): VncEndpoint | undefined;
  /**
   * Sessions that ended with no control plane told: their processes went while the agent was
   * not running, or the agent stopped them on its way out and could not report it. Hello
   * reports them as `stopped` with their reason until forgetEnded() is called; without them a
   * restarted agent's inventory would simply lack them and the control plane would fail them
   * as lost.
   */
  ended(): Promise<DriverSession[]>;
  /** A control plane has been told these sessions ended (Welcome after a Hello carrying them). */
  forgetEnded(sessionIds: readonly string[]): Promise<void>;
  /**
   * Stops every session because the agent stops with its system (AGENT_STOP_SESSIONS_ON_EXIT).
   * Each one is kept as ended with `reason` until forgetEnded(), so it is reported as stopped
   * even if the control plane cannot be told before the agent exits. Returns the sessions it
   * stopped, as `stopped` with `reason`; one that would not stop is left as it was.
   */
  stopAll(reason: string, signal: AbortSignal): Promise<DriverSession[]>;
  /** Subscribes to observed changes; returns the unsubscribe function. */
  onEvent(listener: DriverEventListener): () => void;
  /**
   * Why the platform cannot take new sessions right now (the Docker engine does not answer), or
   * undefined when it can. The agent reports it in heartbeats; drivers whose platform is always
   * there (local processes) leave it out.
   */
  platformProblem?(): string | undefined;
  /** Releases the driver's own resources (watchers, timers). Sessions keep running. */
  close(): Promise<void>;
}
