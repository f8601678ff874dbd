/**
 * RedisAgentHub: agent routes and pod-to-pod messages over Redis (DESIGN.md §1, §3.1).
 *  - route key `ss:agent:route:<agent>` = "<pod>|<connection>", with a TTL re-set by every
 *    heartbeat, so a FLUSHALL or a Redis restart heals within one heartbeat interval;
 *  - liveness key `ss:pod:alive:<pod>`, refreshed on a timer (for operators and tooling);
 *  - channel `ss:pod:<pod>`: PodMessage frames for agents that pod holds; PUBLISH returning 0
 *    means the pod is gone, so the sender reports "offline" and the outbox keeps the row.
 * Redis down: local agents keep working (sends to them never touch Redis), one log line,
 * status "degraded"; when Redis is back every local route is written again, no restart.
 */
import { Redis } from "ioredis";
import type {
  AgentHub,
  AgentRoute,
  HubMessage,
  HubSendResult,
  HubStatus,
} from "../gateway/agent-hub.ts";
import type { GatewayLogger } from "../gateway/gateway-ports.ts";
import { decodePodMessage, encodePodMessage } from "./pod-message-codec.ts";

/** Connection and timing settings; TTLs in milliseconds. */
export interface RedisAgentHubOptions {
  pod: string;
  url: string;
  /** Route TTL; should cover ~3 heartbeat intervals (default 30 s). */
  routeTtlMs?: number;
  podTtlMs?: number;
  /** Key prefix, so tests (and shared Redis) can keep deployments apart. */
  prefix?: string;
  log: GatewayLogger;
}

// Deletes the route only if it still names this connection (a newer stream elsewhere wins).
const UNREGISTER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// Route lookup and PUBLISH in one round trip (a command across pods pays one Redis hop, not
// two). KEYS[1] route key; ARGV: channel prefix, this pod, payload. -1: no route, -2: the
// route names this pod (a stale route: the stream is gone), else PUBLISH's receiver count.
const ROUTE_AND_PUBLISH = `local v = redis.call('GET', KEYS[1])
if not v then return -1 end
local pod = string.match(v, '^(.*)|[^|]*$')
if not pod or pod == ARGV[2] then return -2 end
return redis.call('PUBLISH', ARGV[1] .. pod, ARGV[3])`;

type HubRedis = Redis & {
  routeAndPublish(key: string, prefix: string, pod: string, payload: Buffer): Promise<number>;
};

/** The multi-pod hub. */
export class RedisAgentHub implements AgentHub {
  readonly pod: string;
  private readonly cmd: HubRedis;
  private readonly sub: Redis;
  private readonly local = new Map<string, string>();
  private readonly routeTtl: number;
  private readonly podTtl: number;
  private readonly prefix: string;
  private handler: ((msg: HubMessage) => void) | undefined;
  private down = false;
  private closing = false;
  private alive: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RedisAgentHubOptions) {
    this.pod = opts.pod;
    this.routeTtl = opts.routeTtlMs ?? 30_000;
    this.podTtl = opts.podTtlMs ?? 15_000;
    this.prefix = opts.prefix ?? "ss:";
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: (n: number) => Math.min(50 * n, 1_000),
    };
    // Auto-pipelining: route refreshes of 10,000 heartbeating agents and the pokes of a burst
    // of commands that are issued in one turn go out as one write.
    this.cmd = new Redis(opts.url, {
      ...common,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
    }) as HubRedis;
    this.cmd.defineCommand("routeAndPublish", { numberOfKeys: 1, lua: ROUTE_AND_PUBLISH });
    this.sub = new Redis(opts.url, { ...common, enableOfflineQueue: true });
    this.cmd.on("error", (err) => this.markDown(err));
    this.sub.on("error", (err) => this.markDown(err));
    this.cmd.on("close", () => {
      if (!this.closing) this.markDown(new Error("connection closed"));
    });
    this.cmd.on("ready", () => void this.recovered());
  }

  private routeKey = (agentId: string) => `${this.prefix}agent:route:${agentId}`;
  private channel = (pod: string) => `${this.prefix}pod:${pod}`;

  async start(onMessage: (msg: HubMessage) => void): Promise<void> {
    this.handler = onMessage;
    this.sub.on("messageBuffer", (_channel: Buffer, payload: Buffer) => {
      const m = decodePodMessage(new Uint8Array(payload));
      if (m) this.handler?.(m);
      else this.opts.log.warn("ignored an undecodable hub message", { bytes: payload.length });
    });
    await Promise.all([this.cmd.connect(), this.sub.connect()]);
    await this.sub.subscribe(this.channel(this.pod));
    await this.heartbeatPod();
    this.alive = setInterval(() => void this.heartbeatPod(), Math.floor(this.podTtl / 3));
    this.alive.unref();
  }

  async register(agentId: string, connectionId: string): Promise<void> {
    this.local.set(agentId, connectionId);
    await this.writeRoute(agentId, connectionId);
  }

  async refresh(agentId: string, connectionId: string): Promise<void> {
    if (this.local.get(agentId) !== connectionId) return;
    await this.writeRoute(agentId, connectionId);
  }

  async unregister(agentId: string, connectionId: string): Promise<void> {
    if (this.local.get(agentId) === connectionId) this.local.delete(agentId);
    await this.safe(() =>
      this.cmd.eval(UNREGISTER, 1, this.routeKey(agentId), `${this.pod}|${connectionId}`),
    );
  }

  async route(agentId: string): Promise<AgentRoute | undefined> {
    const local = this.local.get(agentId);
    if (local) return { pod: this.pod, connectionId: local };
    const v = await this.safe(() => this.cmd.get(this.routeKey(agentId)));
    if (!v) return undefined;
    const i = v.lastIndexOf("|");
    return { pod: v.slice(0, i), connectionId: v.slice(i + 1) };
  }

  async send(msg: HubMessage): Promise<HubSendResult> {
    if (this.local.has(msg.agentId) && this.handler) {
      this.handler(msg);
      return "local";
    }
    const payload = Buffer.from(encodePodMessage(msg));
    const receivers = await this.safe(() =>
      this.cmd.routeAndPublish(this.routeKey(msg.agentId), this.channel(""), this.pod, payload),
    );
    return receivers !== undefined && receivers > 0 ? "remote" : "offline";
  }

  status(): HubStatus {
    if (this.down || this.cmd.status !== "ready") {
      return {
        state: "degraded",
        detail: "redis unreachable: only agents on this pod are reachable",
      };
    }
    return { state: "ok", detail: "redis" };
  }

  async close(): Promise<void> {
    clearInterval(this.alive);
    this.closing = true;
    if (this.cmd.status === "ready") {
      const keys = [...this.local].map(([a, c]) => [this.routeKey(a), `${this.pod}|${c}`]);
      await Promise.all(
        keys.map(([k, v]) =>
          this.safe(() => this.cmd.eval(UNREGISTER, 1, k as string, v as string)),
        ),
      );
      await this.safe(() => this.cmd.del(`${this.prefix}pod:alive:${this.pod}`));
    }
    this.local.clear();
    this.handler = undefined;
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  private async writeRoute(agentId: string, connectionId: string): Promise<void> {
    await this.safe(() =>
      this.cmd.set(this.routeKey(agentId), `${this.pod}|${connectionId}`, "PX", this.routeTtl),
    );
  }

  private async heartbeatPod(): Promise<void> {
    await this.safe(() =>
      this.cmd.set(`${this.prefix}pod:alive:${this.pod}`, "1", "PX", this.podTtl),
    );
  }

  /** Runs a Redis call; failures degrade (logged once by markDown) instead of throwing. */
  private async safe<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (this.cmd.status !== "ready") return undefined;
    try {
      return await fn();
    } catch (err) {
      this.markDown(err);
      return undefined;
    }
  }

  private markDown(err: unknown): void {
    if (this.down) return;
    this.down = true;
    this.opts.log.error(
      "redis unreachable: agent routing across pods is degraded; agents on this pod keep working",
      { pod: this.pod, err: String(err) },
    );
  }

  private async recovered(): Promise<void> {
    if (!this.down) return;
    const pipe = this.cmd.pipeline();
    for (const [agentId, conn] of this.local) {
      pipe.set(this.routeKey(agentId), `${this.pod}|${conn}`, "PX", this.routeTtl);
    }
    pipe.set(`${this.prefix}pod:alive:${this.pod}`, "1", "PX", this.podTtl);
    try {
      await pipe.exec();
      this.down = false;
      this.opts.log.info("redis is back: routes registered again", {
        pod: this.pod,
        routes: this.local.size,
      });
    } catch (err) {
      this.opts.log.warn("re-registering routes failed; retrying on the next reconnect", {
        err: String(err),
      });
    }
  }
}
