/**
 * LocalDriver runs each session as one process group on this machine: Xvfb + x11vnc + the
 * template's program (see x11-session.sh), or the built-in TypeScript VNC server for
 * "builtin:demo" and for machines without Xvfb/x11vnc.
 *
 * Meanings, decided here and documented in agents/README.md:
 * - hibernate = SIGSTOP to the group (no CPU; memory stays resident; viewers stall),
 *   wake = SIGCONT;
 * - stop = SIGTERM to the group, SIGKILL after a grace period, done when no live member is left;
 * - an agent shutdown leaves groups running; records in AGENT_DATA_DIR/sessions let the next
 *   agent re-adopt them (pid + /proc start time, so a reused pid is never adopted);
 * - a recorded session whose processes are gone when the driver opens, and every session
 *   stopAll() ends, is kept as an "ended" record (state stopped, with a reason) until
 *   forgetEnded(), so the control plane learns it stopped instead of finding it lost.
 */

import type { Logger } from "@streamspace/common/log";
import {
  type Driver,
  DriverError,
  type DriverEventListener,
  type DriverSession,
  type StartSpec,
  type VncEndpoint,
} from "../../runtime/driver.ts";
import { SessionLocks } from "../session-locks.ts";
import { type BuiltinCommand, prepareBuiltinServer } from "./builtin-bundle.ts";
import { spawnLocalSession } from "./local-session-spawn.ts";
import {
  isValidSessionId,
  type LocalSessionRecord,
  LocalSessionStore,
} from "./local-session-store.ts";
import {
  groupMembers,
  liveGroups,
  processStartTime,
  signalGroup,
  terminateGroup,
  waitGroupState,
} from "./process-group.ts";

// Re-exported so callers need one import for the driver and its template conventions.
export { BUILTIN_IMAGE, hasX11Stack, which } from "./local-session-spawn.ts";

/** Options; defaults suit one machine running a handful of desktops. */
export interface LocalDriverOptions {
  dataDir: string;
  log: Logger;
  /** Screen size, "WxH". */
  geometry?: string;
  /** SIGTERM → SIGKILL grace on stop. */
  stopGraceMs?: number;
  /** How long a start may take before it is failed and cleaned up. */
  startTimeoutMs?: number;
  /** How often live sessions are checked for having exited on their own. */
  pollMs?: number;
  /** Use the built-in server for every session (tests; machines with a broken X stack). */
  forceBuiltin?: boolean;
}

/** Why a recorded session is reported stopped when the driver finds its processes gone. */
export const ENDED_WHILE_AWAY =
  "the desktop ended while its agent was not running (its program ended, or the machine restarted)";

function toDriverSession(rec: LocalSessionRecord): DriverSession {
  if (rec.state === "stopped")
    return { sessionId: rec.sessionId, state: "stopped", reason: rec.reason };
  return {
    sessionId: rec.sessionId,
    state: rec.state,
    endpoint: { host: "127.0.0.1", port: rec.port },
  };
}

/** The local driver; create with `LocalDriver.open` (it re-adopts sessions left running). */
export class LocalDriver implements Driver {
  readonly name = "local";
  private readonly sessions = new Map<string, LocalSessionRecord>();
  /** Sessions that ended with no control plane told yet; their records stay until forgotten. */
  private readonly endedSessions = new Map<string, LocalSessionRecord>();
  private readonly locks = new SessionLocks();
  private readonly stopping = new Set<string>();
  private readonly listeners = new Set<DriverEventListener>();
  private readonly store: LocalSessionStore;
  private readonly poll: NodeJS.Timeout;
  private builtin: Promise<BuiltinCommand> | undefined;
  private closed = false;

  private constructor(private readonly opts: LocalDriverOptions) {
    this.store = new LocalSessionStore(opts.dataDir);
    this.poll = setInterval(() => this.reap(), opts.pollMs ?? 500);
    this.poll.unref();
  }

  /**
   * Opens the driver and re-adopts every recorded session whose process group is still alive;
   * the others are kept as ended (ENDED_WHILE_AWAY) for the next Hello to report.
   */
  static async open(opts: LocalDriverOptions): Promise<LocalDriver> {
    const d = new LocalDriver(opts);
    // Bundle the built-in server now, in the background, so the first start does not wait for it.
    d.builtinCommand();
    const { records, broken } = d.store.loadAll();
    for (const id of broken) {
      opts.log.warn("dropping unreadable session record", { sessionId: id });
      d.store.remove(id);
    }
    for (const rec of records) {
      if (rec.state === "stopped") {
        d.endedSessions.set(rec.sessionId, rec);
        continue;
      }
      const leaderStart = processStartTime(rec.pgid);
      const sameLeader = leaderStart === undefined || leaderStart === rec.startTime;
      if (sameLeader && groupMembers(rec.pgid).length > 0) {
        d.sessions.set(rec.sessionId, rec);
        opts.log.info("re-adopted session", {
          sessionId: rec.sessionId,
          pgid: rec.pgid,
          port: rec.port,
        });
      } else {
        opts.log.info("recorded session ended while the agent was not running", {
          sessionId: rec.sessionId,
        });
        d.markEnded(rec, ENDED_WHILE_AWAY);
      }
    }
    return d;
  }

  /** The process group of a session (tests check for orphans with it). */
  processGroup(sessionId: string): number | undefined {
    return this.sessions.get(sessionId)?.pgid;
  }

  async start(spec: StartSpec, signal: AbortSignal): Promise<DriverSession> {
    this.checkId(spec.sessionId);
    return this.locked(spec.sessionId, async () => {
      const existing = this.sessions.get(spec.sessionId);
      if (existing) return toDriverSession(existing);
      // A start wins over an ended record of the same id (spawning replaces its files).
      this.endedSessions.delete(spec.sessionId);
      let rec: LocalSessionRecord | undefined;
      for (let attempt = 1; !rec; attempt++) {
        try {
          rec = await spawnLocalSession(
            spec,
            {
              store: this.store,
              dataDir: this.opts.dataDir,
              geometry: this.opts.geometry,
              forceBuiltin: this.opts.forceBuiltin,
              startTimeoutMs: this.opts.startTimeoutMs,
              builtin: () => this.builtinCommand(),
              onExit: () => this.reap(),
            },
            signal,
          );
        } catch (err) {
          // A lost race for the VNC port shows as "exited during start"; another port fixes it.
          const retry =
            err instanceof DriverError &&
            err.code === "unavailable" &&
            /exited during start/.test(err.message);
          if (!retry || attempt >= 3) throw err;
          this.opts.log.warn("session start failed, retrying", {
            sessionId: spec.sessionId,
            attempt,
            err,
          });
        }
      }
      this.sessions.set(rec.sessionId, rec);
      this.store.save(rec);
      return toDriverSession(rec);
    });
  }

  async stop(sessionId: string, _signal: AbortSignal): Promise<DriverSession> {
    this.checkId(sessionId);
    return this.locked(sessionId, async () => {
      const rec = this.sessions.get(sessionId);
      if (rec) {
        this.stopping.add(sessionId);
        try {
          await terminateGroup(rec.pgid, this.opts.stopGraceMs ?? 3_000);
        } finally {
          this.stopping.delete(sessionId);
        }
        this.sessions.delete(sessionId);
        this.store.remove(sessionId);
      } else if (this.endedSessions.delete(sessionId)) {
        // The stop's result tells the control plane, so the ended record has done its job.
        this.store.remove(sessionId);
      }
      return { sessionId, state: "stopped" };
    });
  }

  async stopAll(reason: string, _signal: AbortSignal): Promise<DriverSession[]> {
    // Every group at once: the stop's cost is the slowest desktop's grace, not their sum.
    const results = await Promise.allSettled(
      [...this.sessions.keys()].map((id) =>
        this.locked(id, async () => {
          const rec = this.sessions.get(id);
          if (!rec) return undefined;
          this.stopping.add(id);
          try {
            await terminateGroup(rec.pgid, this.opts.stopGraceMs ?? 3_000);
          } finally {
            this.stopping.delete(id);
          }
          this.sessions.delete(id);
          // Recorded after the group is gone: a record saying "stopped" never hides live processes.
          return toDriverSession(this.markEnded(rec, reason));
        }),
      ),
    );
    const stopped: DriverSession[] = [];
    for (const r of results) {
      if (r.status === "fulfilled" && r.value) stopped.push(r.value);
      else if (r.status === "rejected")
        this.opts.log.warn("could not stop a session", { err: r.reason });
    }
    return stopped;
  }

  async ended(): Promise<DriverSession[]> {
    return [...this.endedSessions.values()].map(toDriverSession);
  }

  async forgetEnded(sessionIds: readonly string[]): Promise<void> {
    for (const id of sessionIds) {
      if (!isValidSessionId(id)) continue;
      await this.locked(id, async () => {
        if (this.endedSessions.delete(id)) this.store.remove(id);
      });
    }
  }

  hibernate(sessionId: string, _signal: AbortSignal): Promise<DriverSession> {
    return this.freeze(sessionId, true);
  }

  wake(sessionId: string, _signal: AbortSignal): Promise<DriverSession> {
    return this.freeze(sessionId, false);
  }

  async list(): Promise<DriverSession[]> {
    return [...this.sessions.values()].map(toDriverSession);
  }

  endpoint(sessionId: string): VncEndpoint | undefined {
    const rec = this.sessions.get(sessionId);
    return rec ? { host: "127.0.0.1", port: rec.port } : undefined;
  }

  onEvent(listener: DriverEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    // A closed driver touches no record: the next driver (a restart, the new HA leader) owns them.
    this.closed = true;
    clearInterval(this.poll);
    await Promise.allSettled([this.locks.settled(), this.builtin]);
  }

  private markEnded(rec: LocalSessionRecord, reason: string): LocalSessionRecord {
    const ended: LocalSessionRecord = { ...rec, state: "stopped", reason };
    this.store.save(ended);
    this.endedSessions.set(rec.sessionId, ended);
    return ended;
  }

  private builtinCommand(): Promise<BuiltinCommand> {
    this.builtin ??= prepareBuiltinServer(this.store.dir, this.opts.log);
    return this.builtin;
  }

  private checkId(id: string): void {
    if (!isValidSessionId(id)) {
      throw new DriverError(
        "invalid_argument",
        `session id ${JSON.stringify(id)} must be 1-128 characters of A-Z a-z 0-9 . _ -`,
      );
    }
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }

  private async freeze(sessionId: string, stop: boolean): Promise<DriverSession> {
    this.checkId(sessionId);
    return this.locked(sessionId, async () => {
      const rec = this.sessions.get(sessionId);
      if (!rec)
        throw new DriverError(
          "not_found",
          `session ${sessionId} does not run on this agent; start it first`,
        );
      // A group caught mid-spawn can fail to settle: a vfork parent (posix_spawn) waits in D
      // for a child that was stopped before it could exec. So a freeze that does not settle
      // lets the group run for a moment (the child execs, the parent returns) and stops it
      // again, up to three times, before giving up.
      const want = stop ? "T" : "running";
      let settled = false;
      for (let attempt = 1; attempt <= 3 && !settled; attempt++) {
        if (attempt > 1 && stop) {
          signalGroup(rec.pgid, "SIGCONT");
          await new Promise((r) => setTimeout(r, 100));
        }
        signalGroup(rec.pgid, stop ? "SIGSTOP" : "SIGCONT");
        settled = await waitGroupState(rec.pgid, want, attempt === 3 ? 5_000 : 2_000);
      }
      if (!settled) {
        const laggards = groupMembers(rec.pgid)
          .filter((m) => (stop ? m.state !== "T" : m.state === "T"))
          .map((m) => `${m.pid} (state ${m.state})`);
        throw new DriverError(
          "unavailable",
          `session ${sessionId} did not ${stop ? "freeze" : "resume"} after three tries (still ${stop ? "running" : "stopped"}: ${laggards.join(", ") || "none"}); try again`,
        );
      }
      rec.state = stop ? "hibernated" : "running";
      this.store.save(rec);
      return toDriverSession(rec);
    });
  }

  /** Notices sessions whose processes are all gone and reports them once. */
  private reap(): void {
    if (this.closed || this.sessions.size === 0) return;
    const live = liveGroups();
    for (const [id, rec] of this.sessions) {
      if (this.stopping.has(id) || this.locks.held(id)) continue;
      if (live.has(rec.pgid)) continue;
      this.sessions.delete(id);
      this.store.remove(id);
      this.opts.log.info("session exited on its own", { sessionId: id });
      const ev: DriverSession = {
        sessionId: id,
        state: "stopped",
        reason: "the desktop exited on its own (its program ended or crashed)",
      };
      for (const fn of this.listeners) fn(ev);
    }
  }
}
