/**
 * The driver's one view of the Engine: whether it answers, and the stream of its container
 * events (`/events`, filtered to this agent's label). State comes from these events, never from
 * polling: a session's container dying shows up here within the Engine's own latency.
 *
 * When the stream breaks (the Engine restarted, its socket vanished), the engine counts as down:
 * the driver refuses new sessions with `problem` and the agent reports it in heartbeats. The
 * watch pings once a second until the Engine answers, then subscribes again with `since` set to
 * the last event it saw, so nothing that happened in the gap is lost (Podman replays from its
 * event log, Docker from its ring buffer), and tells the driver to reconcile.
 */

import type { Logger } from "@streamspace/common/log";
import Docker from "dockerode";
import { LABEL } from "./docker-session-spawn.ts";
import { engineDownReason } from "./docker-session-state.ts";

/** One container event of this agent's. */
export interface ContainerEvent {
  sessionId: string;
  /** `die`, `oom`, `start`, `destroy`, `health_status: healthy`, … as the Engine names it. */
  action: string;
  exitCode?: number;
}

/** Dockerode's connection options for DOCKER_HOST (`unix:///path` or `tcp://host:port`). */
export function dockerOptions(dockerHost: string, timeoutMs?: number): Docker.DockerOptions {
  const t = timeoutMs ? { timeout: timeoutMs } : {};
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice(7), ...t };
  if (dockerHost.startsWith("/")) return { socketPath: dockerHost, ...t };
  const u = new URL(dockerHost);
  if (u.protocol !== "tcp:" && u.protocol !== "http:")
    throw new Error(
      `DOCKER_HOST=${dockerHost}: expected unix:///path/docker.sock or tcp://host:port`,
    );
  return { host: u.hostname, port: Number(u.port || 2375), protocol: "http", ...t };
}

const causeOf = (err: unknown) =>
  (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err));

/** Watches the Engine; `close()` ends it. */
export class EngineWatch {
  /** Why the Engine counts as down, or undefined while it answers. */
  problem: string | undefined;
  private readonly events: Docker;
  private readonly pinger: Docker;
  private stream: NodeJS.ReadableStream | undefined;
  private lastSeenS: number | undefined;
  private closed = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly opts: {
      dockerHost: string;
      agentId: string;
      log: Logger;
      onEvent: (e: ContainerEvent) => void;
      /** The Engine answers again after being down (or for the first time): reconcile. */
      onUp: () => Promise<void>;
      retryMs?: number;
    },
  ) {
    this.events = new Docker(dockerOptions(opts.dockerHost));
    this.pinger = new Docker(dockerOptions(opts.dockerHost, 3_000));
  }

  /** Subscribes from `sinceS` (Unix seconds) on; resolves once subscribed or found down. */
  async start(sinceS: number): Promise<void> {
    this.lastSeenS = sinceS;
    let first: (() => void) | undefined;
    const ready = new Promise<void>((r) => {
      first = r;
    });
    this.loop = this.run(() => first?.());
    await ready;
  }

  private async run(firstRound: () => void): Promise<void> {
    // The first answer reconciles too: that is how the driver learns what already runs.
    let wasDown = true;
    while (!this.closed) {
      try {
        await this.pinger.ping();
        const stream = await this.events.getEvents({
          since: this.lastSeenS,
          filters: { type: ["container"], label: [`${LABEL.agent}=${this.opts.agentId}`] },
        });
        this.stream = stream;
        if (this.problem) this.opts.log.info("Docker engine answers again; reconciling");
        this.problem = undefined;
        if (wasDown)
          await this.opts.onUp().catch((err) => this.opts.log.warn("reconcile failed", { err }));
        wasDown = false;
        firstRound();
        await this.consume(stream);
        if (this.closed) return;
        throw Object.assign(new Error("the event stream ended"), { code: "stream ended" });
      } catch (err) {
        if (this.closed) return;
        const reason = engineDownReason(this.opts.dockerHost, causeOf(err));
        if (this.problem !== reason) this.opts.log.warn("Docker engine is down", { reason });
        this.problem = reason;
        wasDown = true;
        firstRound();
        await new Promise<void>((r) => {
          this.wakeUp = r;
          setTimeout(r, this.opts.retryMs ?? 1_000).unref();
        });
      }
    }
  }

  private consume(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise((resolve) => {
      let buf = "";
      stream.on("data", (chunk: Buffer) => {
        buf += chunk.toString("utf8");
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) this.handle(line);
          nl = buf.indexOf("\n");
        }
      });
      const done = () => resolve();
      stream.once("end", done);
      stream.once("close", done);
      stream.once("error", done);
    });
  }

  private handle(line: string): void {
    let e: {
      Action?: string;
      time?: number;
      Actor?: { Attributes?: Record<string, string> };
    };
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    const attrs = e.Actor?.Attributes ?? {};
    const sessionId = attrs[LABEL.session];
    if (typeof e.time === "number") this.lastSeenS = Math.max(this.lastSeenS ?? 0, e.time);
    if (!sessionId || !e.Action) return;
    const exitCode = attrs.exitCode !== undefined ? Number(attrs.exitCode) : undefined;
    this.opts.onEvent({ sessionId, action: e.Action, exitCode });
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    s?.destroy?.();
    this.wakeUp?.();
    await this.loop;
  }
}
