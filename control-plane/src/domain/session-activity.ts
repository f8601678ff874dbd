/**
 * Live quality of experience and idle hibernation, from what the relays measure (each relay
 * sees every viewer of the sessions it owns: last key/pointer input, round trip, frames and
 * bytes per second, reconnects, time to first frame).
 *
 * Every pod reads every relay on each tick (a few KB per relay), keeps the latest figures and a
 * short history per session for the viewer's overlay and the console's sparklines, and
 * hibernates running sessions whose template has an `idleTimeout` and that nobody used for that
 * long. Decisions, written down here:
 * - This is soft state, kept in memory, not in Postgres: figures go stale in seconds, and a
 *   write per session per tick would cost more than the feature. A pod that restarts reads
 *   the relays again; what nobody remembers (relay and pod both restarted) is taken as "used
 *   just now": the last activity is never older than when the session last became running or
 *   when this pod started, so a lost figure delays a hibernation and never brings one early.
 * - When any relay cannot be read, nobody is hibernated that tick (its sessions' input is
 *   unknown).
 * - Every pod sweeps; the hibernation itself is a guarded state transition, so a second pod
 *   deciding the same finds the session no longer running and does nothing.
 * - A viewer that is connected but sends no input is idle: watching is not using. The viewer
 *   warns a minute before (half the timeout when that is shorter) and any input cancels.
 */
import type { Clock, TimerHandle } from "@streamspace/common/clock";
import { permissionDenied } from "./errors.ts";
import { hasRole, type Principal } from "./principal.ts";

/** One session's figures, merged over the relays that serve it. */
export interface RelayActivity {
  sessionId: string;
  viewers: number;
  connects: number;
  /** Wall-clock ms of the last key, pointer or clipboard message (0: none). */
  lastInputMs: number;
  rttMs: number;
  framesPerSecond: number;
  bytesToViewerPerSecond: number;
  bytesFromViewerPerSecond: number;
  timeToFirstFrameMs: number;
}

/** Where the figures come from (relay-ring/relay-activity-source.ts reads the relays). */
export interface ActivitySource {
  /** `complete` is false when some relay could not be read. */
  read(): Promise<{ sessions: RelayActivity[]; complete: boolean }>;
}

/** A running session whose template hibernates it when idle. */
export interface IdleCandidate {
  sessionId: string;
  idleTimeoutSeconds: number;
  /** When it last became running, ms. */
  runningSinceMs: number;
}

/** What the service needs from the rest of the control plane. */
export interface SessionActivityDeps {
  source: ActivitySource;
  candidates(): Promise<IdleCandidate[]>;
  /** Hibernates a session that is still running; false when it no longer was. */
  hibernateIdle(sessionId: string, reason: string): Promise<boolean>;
  /** Visibility check: resolves for a session the principal may see, throws otherwise. */
  getSession(principal: Principal, input: unknown): Promise<{ id: string }>;
  clock: Clock;
  tickMs?: number;
  /** History points per session (one per tick). */
  historyLength?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Counts idle hibernations (a Prometheus counter in the composition root). */
  onIdleHibernated?: () => void;
}

/** One history point for sparklines. */
export interface QoePoint {
  atMs: number;
  rttMs: number;
  framesPerSecond: number;
  bytesToViewerPerSecond: number;
  viewers: number;
}

/** What the viewer overlay and the console show for one session. */
export interface SessionQoeView {
  sessionId: string;
  /** Latest figures (absent: no relay has seen a viewer of it yet). */
  current?: RelayActivity;
  /** Viewer connects beyond the first, as the relays counted them. */
  reconnects: number;
  history: QoePoint[];
  /** Present while the session runs with an idle timeout. */
  idle?: {
    timeoutSeconds: number;
    lastActivityMs: number;
    warnAtMs: number;
    hibernateAtMs: number;
  };
}

interface Entry {
  current?: RelayActivity;
  lastInputMs: number;
  seenAtMs: number;
  history: QoePoint[];
}

/** Entries not seen by any relay for this long, and not idle candidates, are forgotten. */
const FORGET_MS = 3600_000;
const MAX_ENTRIES = 100_000;

/** The lead of the viewer's warning: a minute, or half the timeout when that is shorter. */
export function warningLeadMs(timeoutSeconds: number): number {
  return Math.min(60_000, (timeoutSeconds * 1000) / 2);
}

/** Creates the service; `start()` runs its tick on the clock until `stop()`. */
export function createSessionActivity(deps: SessionActivityDeps) {
  const { clock } = deps;
  const tickMs = deps.tickMs ?? 5_000;
  const historyLength = deps.historyLength ?? 60;
  const startedAtMs = clock.now();
  const entries = new Map<string, Entry>();
  let idle = new Map<string, IdleCandidate>();
  let timer: TimerHandle | undefined;
  let running = false;
  let inFlight: Promise<void> | undefined;

  function idleOf(id: string): SessionQoeView["idle"] {
    const c = idle.get(id);
    if (!c) return undefined;
    const last = Math.max(entries.get(id)?.lastInputMs ?? 0, c.runningSinceMs, startedAtMs);
    const hibernateAtMs = last + c.idleTimeoutSeconds * 1000;
    return {
      timeoutSeconds: c.idleTimeoutSeconds,
      lastActivityMs: last,
      warnAtMs: hibernateAtMs - warningLeadMs(c.idleTimeoutSeconds),
      hibernateAtMs,
    };
  }

  function view(id: string): SessionQoeView {
    const e = entries.get(id);
    return {
      sessionId: id,
      current: e?.current,
      reconnects: Math.max(0, (e?.current?.connects ?? 0) - 1),
      history: e?.history ?? [],
      idle: idleOf(id),
    };
  }

  async function tick(): Promise<void> {
    const now = clock.now();
    let complete = false;
    try {
      const read = await deps.source.read();
      complete = read.complete;
      const seen = new Set<string>();
      for (const a of read.sessions) {
        seen.add(a.sessionId);
        let e = entries.get(a.sessionId);
        if (!e) {
          if (entries.size >= MAX_ENTRIES) continue;
          e = { lastInputMs: 0, seenAtMs: now, history: [] };
          entries.set(a.sessionId, e);
        }
        e.current = a;
        e.seenAtMs = now;
        e.lastInputMs = Math.max(e.lastInputMs, a.lastInputMs);
        if (a.viewers > 0) {
          e.history.push({
            atMs: now,
            rttMs: a.rttMs,
            framesPerSecond: a.framesPerSecond,
            bytesToViewerPerSecond: a.bytesToViewerPerSecond,
            viewers: a.viewers,
          });
          if (e.history.length > historyLength)
            e.history.splice(0, e.history.length - historyLength);
        }
      }
      for (const [id, e] of entries) {
        if (!seen.has(id) && e.current) e.current = { ...e.current, viewers: 0 };
      }
    } catch (err) {
      deps.log?.("could not read the relays' session activity", { err });
    }
    try {
      idle = new Map((await deps.candidates()).map((c) => [c.sessionId, c]));
    } catch (err) {
      deps.log?.("could not list sessions with an idle timeout", { err });
      return;
    }
    for (const [id, e] of entries)
      if (now - e.seenAtMs > FORGET_MS && !idle.has(id)) entries.delete(id);
    if (!complete) return;
    for (const [id, c] of idle) {
      const info = idleOf(id);
      if (!info || now < info.hibernateAtMs) continue;
      const minutes = c.idleTimeoutSeconds / 60;
      const span =
        minutes >= 1 && Number.isInteger(minutes)
          ? `${minutes} minute${minutes === 1 ? "" : "s"}`
          : `${c.idleTimeoutSeconds} seconds`;
      try {
        if (await deps.hibernateIdle(id, `hibernated after ${span} without input`)) {
          idle.delete(id);
          deps.onIdleHibernated?.();
        }
      } catch (err) {
        deps.log?.("idle hibernation failed", { sessionId: id, err });
      }
    }
  }

  const loop = () => {
    if (!running) return;
    inFlight = tick().finally(() => {
      inFlight = undefined;
      if (running) timer = clock.setTimeout(loop, tickMs);
    });
  };

  return {
    /** One read of the relays and one idle sweep (tests call it; `start` repeats it). */
    tick,
    start(): void {
      if (running) return;
      running = true;
      loop();
    },
    async stop(): Promise<void> {
      running = false;
      if (timer) clock.clearTimeout(timer);
      await inFlight;
    },
    /** One session's figures, for its owner (and operators). */
    async forSession(principal: Principal, input: unknown): Promise<SessionQoeView> {
      const s = await deps.getSession(principal, input);
      return view(s.id);
    },
    /** Every session any relay measured recently: the console's fleet view (operators). */
    fleet(principal: Principal): SessionQoeView[] {
      if (!hasRole(principal, "operator"))
        throw permissionDenied("the fleet view needs the operator or admin role");
      return [...entries.keys()].map(view);
    },
  };
}

/** The wired service. */
export type SessionActivity = ReturnType<typeof createSessionActivity>;
