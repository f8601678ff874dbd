/**
 * DockerDriver runs each session as one container on a Docker Engine API (Docker, or Podman's
 * compatible service) at DOCKER_HOST, through dockerode (docker-session-spawn.ts for what a
 * session is made of).
 *
 * Meanings, decided here and documented in agents/README.md and ./README.md:
 * - running = the container runs and its image's health check on the VNC port passes
 *   (docker-session-ready.ts); the endpoint is the loopback port the Engine published;
 * - state changes nobody asked for come from the Engine's event stream (docker-engine-watch.ts),
 *   never from polling: an event makes the driver inspect that one container and compare it
 *   with what it tracks (`refresh`), under the session's lock, so events and operations never
 *   race and a replayed event changes nothing;
 * - hibernate = stop the container (its volume, network and name stay), wake = start it again
 *   (a new published port); stop = remove container, network and (unless KEEP_HOME_VOLUMES)
 *   home volume;
 * - on open and whenever the Engine answers again, the driver reconciles: it lists the
 *   containers labelled with its AGENT_ID, adopts the running ones, reports the ones that
 *   ended while nobody watched, and the control plane reconciles the inventory (unknown
 *   sessions get a StopSession);
 * - while the Engine does not answer, the driver is open but refuses starts with the reason,
 *   which the agent also reports in heartbeats (`platformProblem`).
 */

import type { Logger } from "@streamspace/common/log";
import Docker from "dockerode";
import {
  type Driver,
  DriverError,
  type DriverEventListener,
  type DriverSession,
  type StartSpec,
  type VncEndpoint,
} from "../../runtime/driver.ts";
import { SessionLocks } from "../session-locks.ts";
import { dockerOptions, EngineWatch } from "./docker-engine-watch.ts";
import { factsOf, publishedPort, waitReady } from "./docker-session-ready.ts";
import {
  engineError,
  ensureSessionObjects,
  isValidSessionId,
  LABEL,
  removeSessionObjects,
  type SessionNames,
  sessionNames,
  statusOf,
  vncPortOf,
} from "./docker-session-spawn.ts";
import {
  exitReason,
  imageMissingReason,
  type TrackedSession,
  toDriverSession,
} from "./docker-session-state.ts";
import { type DockerSessionRecord, DockerSessionStore } from "./docker-session-store.ts";

/** Options; defaults suit one Docker host. */
export interface DockerDriverOptions {
  /** DOCKER_HOST: `unix:///var/run/docker.sock` or `tcp://127.0.0.1:2375`. */
  dockerHost: string;
  /** NETWORK_PREFIX: session networks are `<prefix>-<session id>`. */
  networkPrefix: string;
  agentId: string;
  dataDir: string;
  log: Logger;
  /** KEEP_HOME_VOLUMES: a stopped session's home volume stays for an operator to collect. */
  keepHomeVolumes?: boolean;
  /** Seconds a desktop gets to exit on SIGTERM before SIGKILL (stop and hibernate). */
  stopGraceS?: number;
}

/** Why a tracked session whose container vanished is reported stopped. */
export const REMOVED_OUTSIDE =
  "its container was removed outside StreamSpace (docker rm, or a prune); start a new session";
/** Prefix of the reason of a session that ended while no agent watched it. */
export const ENDED_WHILE_AWAY = "the desktop ended while its agent was not watching";

/** The Docker driver; create with `DockerDriver.open`. */
export class DockerDriver implements Driver {
  readonly name = "docker";
  private readonly docker: Docker;
  private readonly sessions = new Map<string, TrackedSession>();
  private readonly endedSessions = new Map<string, DockerSessionRecord>();
  private readonly locks = new SessionLocks();
  private readonly listeners = new Set<DriverEventListener>();
  private readonly healthTests = new Map<string, string[] | undefined>();
  private readonly store: DockerSessionStore;
  private readonly watch: EngineWatch;
  /** True until open() returns: nobody listens yet, so endings are kept as ended records. */
  private opening = true;

  private constructor(private readonly opts: DockerDriverOptions) {
    // Every call has a deadline of its own besides the command's: a hung Engine must not hang
    // the agent. Stops wait up to the grace period, so the timeout leaves room for it.
    this.docker = new Docker(dockerOptions(opts.dockerHost, 60_000));
    this.store = new DockerSessionStore(opts.dataDir);
    for (const rec of this.store.loadAll())
      if (rec.state === "stopped") this.endedSessions.set(rec.sessionId, rec);
    this.watch = new EngineWatch({
      dockerHost: opts.dockerHost,
      agentId: opts.agentId,
      log: opts.log,
      onEvent: (e) => {
        if (!isValidSessionId(e.sessionId)) return;
        void this.locked(e.sessionId, () => this.refresh(e.sessionId)).catch((err) =>
          opts.log.warn("could not check a session after an engine event", { err }),
        );
      },
      onUp: () => this.reconcile(),
    });
  }

  /**
   * Opens the driver: subscribes to the Engine's events, then reconciles with what runs. An
   * Engine that does not answer does not fail the open: the driver reports it and catches up
   * when the Engine is back.
   */
  static async open(opts: DockerDriverOptions): Promise<DockerDriver> {
    const d = new DockerDriver(opts);
    await d.watch.start(Math.floor(Date.now() / 1000) - 1);
    d.opening = false;
    return d;
  }

  /** Why new sessions are refused (the Engine does not answer), or undefined. */
  platformProblem(): string | undefined {
    return this.watch.problem;
  }

  /** The names of a session's Engine objects (tests and operators look them up). */
  names(sessionId: string): SessionNames {
    return sessionNames(sessionId, this.opts.networkPrefix);
  }

  async start(spec: StartSpec, signal: AbortSignal): Promise<DriverSession> {
    this.checkId(spec.sessionId);
    return this.locked(spec.sessionId, async () => {
      const existing = this.sessions.get(spec.sessionId);
      if (existing) return toDriverSession(existing);
      const problem = this.watch.problem;
      if (problem) throw new DriverError("unavailable", `cannot start a desktop: ${problem}`);
      const t = spec.template;
      if (!t.image)
        throw new DriverError("invalid_argument", "the template names no image; set its image");
      const healthTest = await this.healthTestOf(t.image, signal);
      const names = this.names(spec.sessionId);
      const t0 = performance.now();
      try {
        const container = await ensureSessionObjects(
          this.docker,
          spec,
          this.opts.agentId,
          names,
          healthTest,
        ).catch((err) => {
          throw engineError("create the desktop's container", err);
        });
        const t1 = performance.now();
        await container.start().catch((err) => {
          if (statusOf(err) !== 304) throw engineError("start the desktop's container", err);
        });
        const t2 = performance.now();
        const { port, bannerMs } = await waitReady(container, vncPortOf(t), signal);
        // The three hops of a start, for operators and bench/docker/session-start.ts.
        this.opts.log.info("desktop started", {
          sessionId: spec.sessionId,
          createMs: Math.round(t1 - t0),
          startMs: Math.round(t2 - t1),
          readyMs: Math.round(performance.now() - t2),
          bannerMs,
        });
        const s: TrackedSession = { sessionId: spec.sessionId, state: "running", port };
        this.sessions.set(spec.sessionId, s);
        this.endedSessions.delete(spec.sessionId);
        this.store.remove(spec.sessionId);
        return toDriverSession(s);
      } catch (err) {
        // Nothing half-made stays behind: a retry of the command starts from a clean slate. A
        // kept home volume stays, as on stop: it may hold a user's files from an earlier run.
        await removeSessionObjects(this.docker, names, this.opts.keepHomeVolumes ?? false).catch(
          () => {},
        );
        throw err;
      }
    });
  }

  async stop(sessionId: string, _signal: AbortSignal): Promise<DriverSession> {
    this.checkId(sessionId);
    return this.locked(sessionId, async () => {
      // An untracked id may still have a container (left while the Engine was down, or made
      // by another replica's start): removing by name is idempotent, so a stop always tries.
      // An ended record's objects are already gone; its stop needs no Engine.
      if (this.sessions.has(sessionId) || !this.endedSessions.has(sessionId))
        await this.remove(sessionId);
      // The stop's result tells the control plane, so an ended record has done its job.
      this.sessions.delete(sessionId);
      this.endedSessions.delete(sessionId);
      this.store.remove(sessionId);
      return { sessionId, state: "stopped" };
    });
  }

  async stopAll(reason: string, _signal: AbortSignal): Promise<DriverSession[]> {
    const results = await Promise.allSettled(
      [...this.sessions.keys()].map((id) =>
        this.locked(id, async () => {
          if (!this.sessions.has(id)) return undefined;
          await this.remove(id);
          this.sessions.delete(id);
          return this.markEnded(id, reason);
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

  async hibernate(sessionId: string, _signal: AbortSignal): Promise<DriverSession> {
    this.checkId(sessionId);
    return this.locked(sessionId, async () => {
      const s = this.tracked(sessionId);
      if (s.state === "hibernated") return toDriverSession(s);
      const c = this.docker.getContainer(this.names(sessionId).container);
      await c.stop({ t: this.opts.stopGraceS ?? 3 }).catch((err) => {
        if (statusOf(err) !== 304) throw engineError("stop the desktop's container", err);
      });
      this.store.save({ sessionId, state: "hibernated" });
      s.state = "hibernated";
      s.port = undefined;
      return toDriverSession(s);
    });
  }

  async wake(sessionId: string, signal: AbortSignal): Promise<DriverSession> {
    this.checkId(sessionId);
    return this.locked(sessionId, async () => {
      const s = this.tracked(sessionId);
      if (s.state === "running") return toDriverSession(s);
      const c = this.docker.getContainer(this.names(sessionId).container);
      const info = await c.inspect().catch((err) => {
        throw engineError("find the hibernated desktop's container", err);
      });
      await c.start().catch((err) => {
        if (statusOf(err) !== 304) throw engineError("start the desktop's container", err);
      });
      const vncPort = Number(Object.keys(info.Config.ExposedPorts ?? {})[0]?.split("/")[0]);
      s.port = (await waitReady(c, vncPort || 5900, signal)).port;
      s.state = "running";
      this.store.remove(sessionId);
      return toDriverSession(s);
    });
  }

  async list(): Promise<DriverSession[]> {
    return [...this.sessions.values()].map(toDriverSession);
  }

  endpoint(sessionId: string): VncEndpoint | undefined {
    return toDriverSession(this.sessions.get(sessionId) ?? { sessionId, state: "hibernated" })
      .endpoint;
  }

  async ended(): Promise<DriverSession[]> {
    return [...this.endedSessions.values()].map((r) => ({
      sessionId: r.sessionId,
      state: "stopped" as const,
      reason: r.reason,
    }));
  }

  async forgetEnded(sessionIds: readonly string[]): Promise<void> {
    for (const id of sessionIds) {
      if (!isValidSessionId(id)) continue;
      await this.locked(id, async () => {
        if (this.endedSessions.delete(id)) this.store.remove(id);
      });
    }
  }

  onEvent(listener: DriverEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.watch.close();
    await this.locks.settled();
  }

  /**
   * Lists this agent's containers and brings the tracked sessions in line: running ones are
   * adopted, ones that ended unseen are reported (or kept as ended), vanished ones reported.
   */
  private async reconcile(): Promise<void> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.agent}=${this.opts.agentId}`] },
    });
    const hibernated = new Set(
      this.store
        .loadAll()
        .filter((r) => r.state === "hibernated")
        .map((r) => r.sessionId),
    );
    const seen = new Set<string>();
    for (const c of containers) {
      const id = c.Labels?.[LABEL.session];
      if (!id || !isValidSessionId(id)) continue;
      seen.add(id);
      let adopting = false;
      if (!this.sessions.has(id) && !this.locks.held(id)) {
        if (c.State === "running" || hibernated.has(id)) {
          const state = c.State === "running" ? "running" : "hibernated";
          this.sessions.set(id, { sessionId: id, state });
          adopting = true;
        }
      }
      await this.locked(id, () => this.refresh(id, adopting));
    }
    for (const id of this.sessions.keys())
      if (!seen.has(id)) await this.locked(id, () => this.refresh(id));
    // Hibernated on record, but its container is gone (removed while no agent watched).
    for (const id of hibernated)
      if (!seen.has(id) && !this.sessions.has(id))
        await this.locked(id, async () => {
          this.report({ sessionId: id, state: "stopped", reason: REMOVED_OUTSIDE });
          if (!this.opening) this.store.remove(id);
        });
  }

  /** Compares one session's container with what the driver tracks and reports the difference. */
  private async refresh(sessionId: string, adopting = false): Promise<void> {
    const names = this.names(sessionId);
    let info: Docker.ContainerInspectInfo | undefined;
    try {
      info = await this.docker.getContainer(names.container).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const s = this.sessions.get(sessionId);
    if (!info) {
      if (!s) return;
      this.sessions.delete(sessionId);
      this.store.remove(sessionId);
      this.report({ sessionId, state: "stopped", reason: REMOVED_OUTSIDE });
      await removeSessionObjects(this.docker, names, this.opts.keepHomeVolumes ?? false);
      return;
    }
    if (!s) {
      // Created but never started: a start in flight when the previous leader died. The start
      // command is redelivered to this one and finds the container (409), so it is left alone.
      if (info.State.Status === "created") return;
      // An exited container nobody tracks: its session ended while no agent watched.
      if (info.State.Running || this.endedSessions.has(sessionId)) return;
      const { reason } = exitReason(factsOf(info));
      this.markEnded(sessionId, `${ENDED_WHILE_AWAY}: ${reason}`);
      await removeSessionObjects(this.docker, names, this.opts.keepHomeVolumes ?? false);
      return;
    }
    if (info.State.Running) {
      const vncPort = Number(Object.keys(info.Config.ExposedPorts ?? {})[0]?.split("/")[0]);
      const port = publishedPort(info, vncPort || 5900);
      const changed = s.state !== "running" || s.port !== port;
      s.state = "running";
      s.port = port;
      this.store.remove(sessionId);
      if (changed && !adopting) this.emit(toDriverSession(s));
      if (adopting) this.opts.log.info("adopted session", { sessionId, port });
      return;
    }
    if (s.state === "hibernated") return;
    this.sessions.delete(sessionId);
    const { state, reason } = exitReason(factsOf(info));
    this.opts.log.info("session ended on its own", { sessionId, state, reason });
    this.report({ sessionId, state, reason });
    await removeSessionObjects(this.docker, names, this.opts.keepHomeVolumes ?? false);
  }

  private emit(ev: DriverSession): void {
    for (const fn of this.listeners) fn(ev);
  }

  /**
   * An ending nobody asked for: an event once the driver is open; while it opens (nobody
   * listens yet) an ended record, which the next Hello reports.
   */
  private report(ev: DriverSession): void {
    if (this.opening) this.markEnded(ev.sessionId, ev.reason ?? REMOVED_OUTSIDE);
    else this.emit(ev);
  }

  /** Stops the container gracefully, then removes the session's objects. */
  private async remove(sessionId: string): Promise<void> {
    const names = this.names(sessionId);
    await this.docker
      .getContainer(names.container)
      .stop({ t: this.opts.stopGraceS ?? 3 })
      .catch((err) => {
        if (statusOf(err) === undefined) throw engineError("stop the desktop's container", err);
      });
    await removeSessionObjects(this.docker, names, this.opts.keepHomeVolumes ?? false).catch(
      (err) => {
        throw engineError("remove the desktop's container", err);
      },
    );
  }

  private markEnded(sessionId: string, reason: string): DriverSession {
    const rec: DockerSessionRecord = { sessionId, state: "stopped", reason };
    this.store.save(rec);
    this.endedSessions.set(sessionId, rec);
    return { sessionId, state: "stopped", reason };
  }

  /** The image's HEALTHCHECK test; a missing image is pulled once, else the start is refused. */
  private async healthTestOf(image: string, signal: AbortSignal): Promise<string[] | undefined> {
    if (this.healthTests.has(image)) return this.healthTests.get(image);
    let info: Docker.ImageInspectInfo;
    try {
      info = await this.docker.getImage(image).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw engineError(`inspect the image ${image}`, err);
      info = await this.pull(image, signal);
    }
    const cfg = info.Config as { Healthcheck?: { Test?: string[] } } | undefined;
    const legacy = info.ContainerConfig as { Healthcheck?: { Test?: string[] } } | undefined;
    const test = cfg?.Healthcheck?.Test ?? legacy?.Healthcheck?.Test;
    this.healthTests.set(image, test);
    return test;
  }

  private async pull(image: string, signal: AbortSignal): Promise<Docker.ImageInspectInfo> {
    try {
      const stream = await this.docker.pull(image, { abortSignal: signal });
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
      );
      return await this.docker.getImage(image).inspect();
    } catch (err) {
      const detail =
        (err as { json?: { message?: string } })?.json?.message ??
        (err instanceof Error ? err.message : String(err));
      throw new DriverError("invalid_argument", imageMissingReason(image, detail), { cause: err });
    }
  }

  private tracked(sessionId: string): TrackedSession {
    const s = this.sessions.get(sessionId);
    if (!s)
      throw new DriverError(
        "not_found",
        `session ${sessionId} does not run on this agent; start it first`,
      );
    return s;
  }

  private checkId(id: string): void {
    if (!isValidSessionId(id))
      throw new DriverError(
        "invalid_argument",
        `session id ${JSON.stringify(id)} must be 1-128 characters of A-Z a-z 0-9 . _ -`,
      );
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }
}
