/**
 * Quality of experience and input activity per session, measured where the bytes pass: the
 * owner relay sees every viewer of a session, so it can say when a person last pressed a key
 * or moved the pointer (the control plane's idle hibernation reads that), and how the session
 * feels: round-trip time (WebSocket ping → pong to the browser), frames per second (frame
 * requests: in RFB's request/answer flow one per frame the viewer received; bursts of server
 * bytes once continuous updates are on), bytes per second each way, reconnects and time to
 * first frame (upgrade to the first frame's first bytes).
 *
 * Per-session figures are served to the control plane (`/activity`, relay-routes.ts), never as
 * Prometheus labels: /metrics gets fleet-wide histograms and counters with bounded labels.
 * Bounded: at most `maxSessions` entries; an entry without viewers is dropped `keepMs` after
 * its last viewer left (its last-input time has been read by then: the control plane polls
 * every few seconds and keeps what it learnt).
 */
import { RfbClientScanner } from "@streamspace/common/rfb-client-scan";
import type { WebSocket } from "ws";
import type { RelayMetrics } from "./metrics.ts";

/** What the relay reports for one session. */
export interface SessionQoe {
  sessionId: string;
  viewers: number;
  /** Viewer connections accepted for this session here; more than one means reconnects. */
  connects: number;
  /** Wall-clock ms of the last key, pointer or clipboard message from any viewer (0: none). */
  lastInputMs: number;
  /** Latest WebSocket round trip of the slowest viewer, ms (0: not measured yet). */
  rttMs: number;
  framesPerSecond: number;
  bytesToViewerPerSecond: number;
  bytesFromViewerPerSecond: number;
  /** Upgrade to the first frame's bytes reaching the latest viewer, ms (0: not yet). */
  timeToFirstFrameMs: number;
}

/** The hooks one spliced viewer calls; cheap enough for every chunk. */
export interface ViewerQoe {
  clientBytes(chunk: Buffer): void;
  serverBytes(n: number): void;
  close(): void;
}

interface Entry extends SessionQoe {
  live: Set<Viewer>;
  frames: number;
  bytesOut: number;
  bytesIn: number;
  lastTick: number;
  framesAtTick: number;
  outAtTick: number;
  inAtTick: number;
  leftAt: number;
}

interface Viewer {
  ws: WebSocket;
  pingSentAt: number;
  rttMs: number;
}

export interface QoeBookOptions {
  /** Wall clock, ms (tests pass a manual one). */
  now?: () => number;
  pingEveryMs?: number;
  keepMs?: number;
  maxSessions?: number;
}

/** Every session's QoE on this relay; call `tick()` every second or two. */
export class QoeBook {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  /** Round trips on loopback are under a millisecond: timed with a sub-millisecond clock. */
  readonly #rttClock: () => number;
  readonly #pingEveryMs: number;
  readonly #keepMs: number;
  readonly #max: number;
  #lastPing = 0;

  constructor(
    private readonly metrics: RelayMetrics,
    opts: QoeBookOptions = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#rttClock = opts.now ?? (() => performance.now());
    this.#pingEveryMs = opts.pingEveryMs ?? 5_000;
    this.#keepMs = opts.keepMs ?? 24 * 3600_000;
    this.#max = opts.maxSessions ?? 100_000;
  }

  /** Starts measuring one viewer; `startedMs` is when its upgrade arrived (wall clock). */
  viewer(sessionId: string, startedMs: number, ws: WebSocket): ViewerQoe {
    const now = this.#now();
    let e = this.#entries.get(sessionId);
    if (!e) {
      if (this.#entries.size >= this.#max) this.#evictOne();
      e = {
        sessionId,
        viewers: 0,
        connects: 0,
        lastInputMs: 0,
        rttMs: 0,
        framesPerSecond: 0,
        bytesToViewerPerSecond: 0,
        bytesFromViewerPerSecond: 0,
        timeToFirstFrameMs: 0,
        live: new Set(),
        frames: 0,
        bytesOut: 0,
        bytesIn: 0,
        lastTick: now,
        framesAtTick: 0,
        outAtTick: 0,
        inAtTick: 0,
        leftAt: 0,
      };
      this.#entries.set(sessionId, e);
    } else if (e.connects > 0) this.metrics.viewerReconnects++;
    const entry = e;
    entry.connects++;
    entry.viewers++;
    const v: Viewer = { ws, pingSentAt: 0, rttMs: 0 };
    entry.live.add(v);
    ws.on("pong", () => {
      if (!v.pingSentAt) return;
      v.rttMs = this.#rttClock() - v.pingSentAt;
      v.pingSentAt = 0;
      this.metrics.observeRtt(v.rttMs / 1000);
    });
    // Frames: in RFB's request/answer flow one request per frame the viewer got; once the
    // viewer turned on continuous updates the server sends unasked, and a frame is a burst of
    // server bytes after a pause of at least 5 ms (an estimate; the viewer counts exactly).
    let requested = false;
    let continuous = false;
    let firstFrame = false;
    let lastServerAt = 0;
    const scanner = new RfbClientScanner({
      input: (kind) => {
        entry.lastInputMs = this.#now();
        this.metrics.countInput(kind);
      },
      frameRequest: () => {
        this.metrics.frameRequests++;
        requested = true;
        if (!continuous) entry.frames++;
      },
      continuousUpdates: (on) => {
        continuous = on;
      },
    });
    let closed = false;
    return {
      clientBytes: (chunk) => {
        entry.bytesIn += chunk.length;
        scanner.push(chunk);
      },
      serverBytes: (n) => {
        entry.bytesOut += n;
        if (!requested) return;
        const now = this.#now();
        // Time to first frame: the upgrade until the first frame's bytes reach the viewer.
        if (!firstFrame) {
          firstFrame = true;
          entry.timeToFirstFrameMs = Math.max(1, now - startedMs);
          this.metrics.observeFirstFrame(entry.timeToFirstFrameMs / 1000);
        }
        if (continuous && now - lastServerAt >= 5) entry.frames++;
        lastServerAt = now;
      },
      close: () => {
        if (closed) return;
        closed = true;
        entry.live.delete(v);
        entry.viewers--;
        if (entry.viewers === 0) entry.leftAt = this.#now();
      },
    };
  }

  /** Computes rates since the last tick, pings viewers when due, forgets stale sessions. */
  tick(): void {
    const now = this.#now();
    const ping = now - this.#lastPing >= this.#pingEveryMs;
    if (ping) this.#lastPing = now;
    for (const [id, e] of this.#entries) {
      if (e.viewers === 0 && now - e.leftAt > this.#keepMs) {
        this.#entries.delete(id);
        continue;
      }
      const dt = (now - e.lastTick) / 1000;
      if (dt > 0) {
        e.framesPerSecond = round1((e.frames - e.framesAtTick) / dt);
        e.bytesToViewerPerSecond = Math.round((e.bytesOut - e.outAtTick) / dt);
        e.bytesFromViewerPerSecond = Math.round((e.bytesIn - e.inAtTick) / dt);
        e.lastTick = now;
        e.framesAtTick = e.frames;
        e.outAtTick = e.bytesOut;
        e.inAtTick = e.bytesIn;
      }
      let rtt = 0;
      for (const v of e.live) {
        rtt = Math.max(rtt, v.rttMs);
        if (ping && !v.pingSentAt && v.ws.readyState === v.ws.OPEN) {
          v.pingSentAt = this.#rttClock();
          v.ws.ping();
        }
      }
      if (e.viewers > 0) e.rttMs = rtt;
    }
  }

  /** The figures of every session known here. */
  snapshot(): SessionQoe[] {
    return [...this.#entries.values()].map((e) => ({
      sessionId: e.sessionId,
      viewers: e.viewers,
      connects: e.connects,
      lastInputMs: e.lastInputMs,
      rttMs: e.rttMs,
      framesPerSecond: e.viewers > 0 ? e.framesPerSecond : 0,
      bytesToViewerPerSecond: e.viewers > 0 ? e.bytesToViewerPerSecond : 0,
      bytesFromViewerPerSecond: e.viewers > 0 ? e.bytesFromViewerPerSecond : 0,
      timeToFirstFrameMs: e.timeToFirstFrameMs,
    }));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Makes room: the session whose last viewer left longest ago (live ones are kept). */
  #evictOne(): void {
    let oldest: Entry | undefined;
    for (const e of this.#entries.values())
      if (e.viewers === 0 && (!oldest || e.leftAt < oldest.leftAt)) oldest = e;
    if (oldest) this.#entries.delete(oldest.sessionId);
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
