/**
 * The agent runtime: holds one AgentGateway.Connect stream at a time and keeps it honest.
 *
 * - Dials the control-plane URLs in turn with full-jitter exponential backoff.
 * - Sends Hello with the driver's full inventory and recently completed command ids.
 * - Heartbeats at the Welcome's interval from a timer, independent of command work.
 * - Acks every Command at once and runs it concurrently under its deadline; a finished
 *   command's result is cached (bounded LRU), so a redelivery is answered, never re-run.
 * - Outgoing frames go through a bounded queue; if it overflows the stream is dropped and
 *   redialled (Hello's inventory resynchronises; unreported results are re-sent after Welcome).
 *   Heartbeats are simply skipped when the queue is full.
 * - Sessions that ended with no stream to tell go out in the next Hello (ended-reports.ts), so
 *   the control plane never finds them missing and fails them as lost.
 * - stopWithSessions() is the clean stop of an agent that owns its machine: its desktops end
 *   as stopped, reported before the stream closes.
 */
import { availableParallelism, hostname, loadavg } from "node:os";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { BoundedQueue } from "@streamspace/common/bounded-queue";
import { type Clock, sleep, systemClock } from "@streamspace/common/clock";
import type { Logger } from "@streamspace/common/log";
import {
  type ControlMessage,
  HelloSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { CapacitySchema, type Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import { type BackoffPolicy, fullJitterDelay } from "./backoff.ts";
import { CommandTracker, type Outgoing } from "./command-tracker.ts";
import type { Driver, DriverSession } from "./driver.ts";
import { EndedReports } from "./ended-reports.ts";
import { dialGateway, type GatewayConnection } from "./gateway-dialer.ts";
import type { RelayHook } from "./relay-hook.ts";
import { toSessionReport } from "./session-report.ts";
import { SessionView } from "./session-view.ts";

/** Everything the runtime needs; main.ts builds it from the environment. */
export interface AgentRuntimeOptions {
  agentId: string;
  urls: string[];
  platform: Platform;
  region: string;
  version: string;
  labels: Record<string, string>;
  maxSessions: number;
  maxCpuMillis: bigint;
  maxMemoryBytes: bigint;
  driver: Driver;
  log: Logger;
  relay?: RelayHook;
  /** The credential to present, or undefined to enrol with the bootstrap token. */
  credential?: string;
  bootstrapToken?: string;
  /** Persists a credential handed out by CredentialIssued; must finish before it is used. */
  onCredential?(credential: string): Promise<void>;
  clock?: Clock;
  random?: () => number;
  backoff?: BackoffPolicy;
  completedCacheSize?: number;
  outgoingQueueSize?: number;
  /** Deadline for a command that carries none. */
  defaultCommandTimeoutMs?: number;
  /** Replaces dialGateway (tests). */
  dial?: (url: string) => GatewayConnection;
}

/** The observable state of the runtime, for /health and /ready. */
export interface RuntimeStatus {
  connected: boolean;
  pod?: string;
  approved: boolean;
  sessions: number;
  draining: boolean;
}

/** Holds the control stream; start() begins dialling, stop() ends it and leaves sessions running. */
export class AgentRuntime {
  private readonly clock: Clock;
  private readonly commands: CommandTracker;
  private readonly sessions: SessionView;
  private out: BoundedQueue<Outgoing> | undefined;
  private dropStream: (() => void) | undefined;
  private connected = false;
  private pod: string | undefined;
  private approved = false;
  private draining = false;
  private heartbeatSeq = 0n;
  private loop: Promise<void> | undefined;
  private readonly stopper = new AbortController();
  private readonly offEvents: () => void;
  private readonly ended: EndedReports;
  /** The queue stopWithSessions() half-closed; its stream ending normally confirms delivery. */
  private halfClosed: BoundedQueue<Outgoing> | undefined;
  private endedCleanly = false;

  constructor(private readonly opts: AgentRuntimeOptions) {
    if (opts.urls.length === 0)
      throw new Error("AgentRuntime needs at least one control-plane URL");
    this.clock = opts.clock ?? systemClock;
    this.sessions = new SessionView(opts.relay);
    this.commands = new CommandTracker({
      clock: this.clock,
      log: opts.log,
      cacheSize: opts.completedCacheSize,
      defaultTimeoutMs: opts.defaultCommandTimeoutMs,
      send: (msg) => this.sendReliable(msg),
      onFinished: (_cmd, { session }) => {
        if (session) this.sessions.apply(session);
      },
      context: {
        driver: opts.driver,
        maxSessions: opts.maxSessions,
        activeSessions: () => this.sessions.size,
        hasSession: (s) => this.sessions.has(s),
        isDraining: () => this.draining,
        setDraining: () => {
          this.draining = true;
        },
      },
    });
    this.ended = new EndedReports(opts.driver, opts.log);
    this.offEvents = opts.driver.onEvent((s) => void this.onDriverEvent(s));
  }

  /** Starts dialling in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Closes the stream and stops dialling; waits briefly for running commands. Sessions keep running. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopper.abort(new Error("agent shutting down"));
    this.dropStream?.();
    await this.loop;
    await Promise.race([this.commands.idle(), sleep(this.clock, graceMs)]);
    this.offEvents();
  }

  /**
   * The clean stop of an agent that owns its machine (AGENT_STOP_SESSIONS_ON_EXIT): refuses new
   * starts, lets running commands finish, stops every session through the driver and reports
   * each on the live stream as stopped with `reason`, then half-closes the stream and waits for
   * the control plane to end it, which the gateway does only after applying every frame before
   * the half-close (it reads in order). All within `deadlineMs`. Endings the control plane did
   * not confirm stay with the driver and go out in the next Hello, so a desktop stopped with
   * the system never comes back as lost.
   */
  async stopWithSessions(reason: string, deadlineMs = 20_000): Promise<void> {
    const deadline = this.clock.now() + deadlineMs;
    const left = () => Math.max(0, deadline - this.clock.now());
    this.draining = true;
    await this.within(this.commands.idle(), left());
    let stopped: DriverSession[] = [];
    try {
      stopped =
        (await this.within(
          this.opts.driver.stopAll(reason, AbortSignal.timeout(Math.max(1, left()))),
          left(),
        )) ?? [];
    } catch (err) {
      this.opts.log.error("could not stop the sessions", { err });
    }
    const sent = stopped.filter((s) => this.onDriverEvent(s));
    // Dial no more; the stream that is up finishes what it carries.
    this.stopper.abort(new Error("agent shutting down"));
    const out = this.out;
    if (out && this.connected) {
      this.halfClosed = out;
      out.close();
      await this.within(this.loop ?? Promise.resolve(), left());
      if (this.endedCleanly && sent.length > 0) {
        await this.opts.driver
          .forgetEnded(sent.map((s) => s.sessionId))
          .catch((err: unknown) => this.opts.log.warn("could not drop ended records", { err }));
      }
    }
    this.opts.log.info("sessions stopped with the agent", {
      stopped: stopped.length,
      confirmed: this.endedCleanly ? sent.length : 0,
    });
    await this.stop(0);
  }

  status(): RuntimeStatus {
    return {
      connected: this.connected,
      pod: this.pod,
      approved: this.approved,
      sessions: this.sessions.size,
      draining: this.draining,
    };
  }

  private async run(): Promise<void> {
    // A 5 s ceiling: full jitter already spreads a herd, and agents must be back within seconds.
    const backoff = this.opts.backoff ?? { initialMs: 250, maxMs: 5_000 };
    let attempt = 0;
    let urlIndex = 0;
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      const url = this.opts.urls[urlIndex % this.opts.urls.length] as string;
      urlIndex++;
      let redialAfter: number | undefined;
      try {
        const { welcomed, reconnectMs } = await this.connectOnce(url);
        if (welcomed) attempt = 0;
        redialAfter = reconnectMs;
      } catch (err) {
        if (!signal.aborted) this.opts.log.warn("control stream failed", { url, err });
      }
      if (signal.aborted) break;
      const delay = redialAfter ?? fullJitterDelay(backoff, attempt++, this.opts.random);
      this.opts.log.info("redialling", { inMs: delay, attempt });
      await sleep(this.clock, delay, signal).catch(() => {});
    }
  }

  private async connectOnce(url: string): Promise<{ welcomed: boolean; reconnectMs?: number }> {
    const conn = (this.opts.dial ?? dialGateway)(url);
    const out = new BoundedQueue<Outgoing>(this.opts.outgoingQueueSize ?? 1024);
    const ac = new AbortController();
    let heartbeat: ReturnType<Clock["setTimeout"]> | undefined;
    let welcomed = false;
    this.dropStream = () => ac.abort(new Error("stream dropped"));
    try {
      const inventory = await this.opts.driver.list();
      const ended = await this.ended.forHello(inventory);
      this.sessions.replaceAll(inventory);
      out.push({ payload: { case: "hello", value: this.hello([...inventory, ...ended]) } });
      this.out = out;
      const headers: Record<string, string> = {};
      if (this.opts.credential) headers.authorization = `Bearer ${this.opts.credential}`;
      else if (this.opts.bootstrapToken)
        headers["x-streamspace-bootstrap-token"] = this.opts.bootstrapToken;
      this.opts.log.info("dialling control plane", { url });
      for await (const msg of conn.client.connect(out, { signal: ac.signal, headers })) {
        const p = msg.payload;
        if (p.case === "welcome") {
          welcomed = true;
          this.connected = true;
          this.pod = p.value.pod;
          this.approved = p.value.approved;
          const iv = p.value.heartbeatInterval;
          const intervalMs = Math.max(
            100,
            iv ? Number(iv.seconds) * 1000 + iv.nanos / 1e6 : 10_000,
          );
          const beat = () => {
            this.sendHeartbeat();
            this.flushBacklog();
            heartbeat = this.clock.setTimeout(beat, intervalMs);
          };
          if (heartbeat) this.clock.clearTimeout(heartbeat);
          heartbeat = this.clock.setTimeout(beat, intervalMs);
          if (p.value.ring) this.opts.relay?.updateRing(p.value.ring);
          this.ended.acknowledged(ended);
          this.opts.log.info("connected", {
            pod: this.pod,
            approved: this.approved,
            heartbeatMs: intervalMs,
          });
          this.flushBacklog();
        } else if (p.case === "command") {
          this.commands.handle(p.value);
        } else if (p.case === "ringUpdate") {
          if (p.value.ring) this.opts.relay?.updateRing(p.value.ring);
        } else if (p.case === "reconnect") {
          const d = p.value.delay;
          const ms = d ? Number(d.seconds) * 1000 + d.nanos / 1e6 : 0;
          this.opts.log.info("control plane asked to reconnect", {
            reason: p.value.reason,
            delayMs: ms,
          });
          return { welcomed, reconnectMs: Math.max(0, ms) };
        } else if (p.case === "credentialIssued") {
          await this.saveCredential(p.value.credential);
        } else {
          this.opts.log.warn("ignoring an unknown control message; upgrade the agent", {
            case: (msg as ControlMessage).payload.case,
          });
        }
      }
      if (this.halfClosed === out) this.endedCleanly = true;
      else this.opts.log.warn("control plane ended the stream", { url });
      return { welcomed };
    } finally {
      if (heartbeat) this.clock.clearTimeout(heartbeat);
      this.connected = false;
      this.out = undefined;
      this.dropStream = undefined;
      out.close();
      const unsent = out.takeAll();
      this.commands.requeue(unsent);
      this.ended.requeue(unsent);
      ac.abort();
      conn.close();
    }
  }

  private hello(inventory: DriverSession[]) {
    return create(HelloSchema, {
      agentId: this.opts.agentId,
      platform: this.opts.platform,
      region: this.opts.region,
      version: this.opts.version,
      capacity: this.capacity(),
      labels: { hostname: hostname(), ...this.opts.labels },
      sessions: inventory.map(toSessionReport),
      completedCommandIds: this.commands.recentIds(256),
    });
  }

  private capacity() {
    return create(CapacitySchema, {
      maxSessions: this.opts.maxSessions,
      activeSessions: this.sessions.size,
      maxCpuMillis: this.opts.maxCpuMillis,
      maxMemoryBytes: this.opts.maxMemoryBytes,
    });
  }

  /** Re-sends unreported results into at most half the queue's free room. */
  private flushBacklog(): void {
    const out = this.out;
    if (out) this.commands.flushUnreported(Math.floor((out.capacity - out.size) / 2));
  }

  private sendHeartbeat(): void {
    // Dropped when the queue is full: the next one carries the same information.
    this.out?.push({
      payload: {
        case: "heartbeat",
        value: {
          sequence: ++this.heartbeatSeq,
          capacity: this.capacity(),
          load: (loadavg()[0] ?? 0) / availableParallelism(),
          sendTime: timestampFromMs(this.clock.now()),
          platformProblem: this.opts.driver.platformProblem?.() ?? "",
        },
      },
    });
  }

  /** Sends a frame that must not be lost; on overflow drops the stream so it resyncs. */
  private sendReliable(msg: Outgoing): boolean {
    if (!this.out || !this.connected) return false;
    if (this.out.push(msg)) return true;
    this.opts.log.warn("outgoing queue full; dropping the stream to resynchronise");
    this.dropStream?.();
    return false;
  }

  /** Applies and reports a change; true when it was queued on a live stream. */
  private onDriverEvent(s: DriverSession): boolean {
    this.sessions.apply(s);
    // Not queued while disconnected: the next Hello carries the full inventory, and endings.
    const queued = this.sendReliable({
      payload: {
        case: "sessionEvent",
        value: { session: toSessionReport(s), observeTime: timestampFromMs(this.clock.now()) },
      },
    });
    if (queued) this.ended.sent(s.sessionId);
    else this.ended.remember(s);
    return queued;
  }

  /** `p`'s value, or undefined once `ms` pass first (the timer is cleared either way). */
  private async within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: ReturnType<Clock["setTimeout"]> | undefined;
    const timeout = new Promise<undefined>((r) => {
      timer = this.clock.setTimeout(() => r(undefined), ms);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      if (timer) this.clock.clearTimeout(timer);
    }
  }

  private async saveCredential(credential: string): Promise<void> {
    if (!credential) return;
    try {
      await this.opts.onCredential?.(credential);
      this.opts.credential = credential;
      this.opts.log.info("credential issued and saved; it replaces the bootstrap token");
    } catch (err) {
      this.opts.log.error("could not save the issued credential; ask an admin to rotate it", {
        err,
      });
    }
  }
}
