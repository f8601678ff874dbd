/**
 * A simulated agent for multi-pod tests and benchmarks: the real gRPC client (connect-node,
 * HTTP/2), the real AgentGateway protocol, and an agent's duties — Hello with inventory,
 * heartbeats, ack + result for every command, dedupe by command id, reconnect to another pod
 * when the stream breaks. It counts what a test needs to prove "exactly once".
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  AgentGateway,
  type AgentMessage,
  AgentMessageSchema,
  type Command,
  type CommandResult,
  CommandResultSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { Platform, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";

/** Where a simulated agent connects and how it authenticates first. */
export interface SimAgentOptions {
  id: string;
  /** Base URLs of control-plane pods; the agent starts at `first` and rotates on failure. */
  pods: string[];
  first?: number;
  bootstrapToken: string;
  transportFor: (url: string) => Transport;
  maxSessions?: number;
  /** Called with each command when it arrives (benchmarks time the round trip here). */
  onCommand?: (c: Command, agent: SimAgent) => void;
  /** Delay before answering a command with its result. */
  workMs?: number;
  /** Region reported in Hello (default none), so a test can steer sessions to these agents. */
  region?: string;
}

type Out = AgentMessage;

/** One simulated agent; start() runs it until stop(). */
export class SimAgent {
  readonly sessions = new Map<string, SessionState>();
  /** Times each command id was received (duplicates are redeliveries, deduped). */
  readonly received = new Map<string, number>();
  /** Times each command id was executed: must never exceed 1. */
  readonly executed = new Map<string, number>();
  readonly results = new Map<string, CommandResult>();
  /** Every Welcome: which pod, when (ms since epoch). */
  readonly welcomes: { pod: string; at: number }[] = [];
  pod: string | undefined;
  connected = false;
  private credential: string | undefined;
  private stopped = false;
  private index: number;
  private abort = new AbortController();
  private push: ((m: Out) => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: SimAgentOptions) {
    this.index = opts.first ?? 0;
  }

  get id(): string {
    return this.opts.id;
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const url = this.opts.pods[this.index % this.opts.pods.length] as string;
      let delayMs = 100 + Math.random() * 100;
      try {
        delayMs = (await this.session(url)) ?? delayMs;
      } catch {
        // Connection refused or stream broken: try the next pod.
      }
      this.connected = false;
      this.pod = undefined;
      this.push = undefined;
      this.index++;
      if (!this.stopped) await new Promise((r) => setTimeout(r, delayMs));
    }
  }

  /** One stream; resolves with the delay a Reconnect asked for, if any. */
  private async session(url: string): Promise<number | undefined> {
    const client = createClient(AgentGateway, this.opts.transportFor(url));
    const queue: Out[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const push = (m: Out) => {
      queue.push(m);
      wake?.();
    };
    const requests = (async function* () {
      while (!done) {
        const m = queue.shift();
        if (m) yield m;
        else await new Promise<void>((r) => (wake = r));
      }
    })();
    push(this.hello());
    const headers: Record<string, string> = this.credential
      ? { authorization: `Bearer ${this.credential}` }
      : { "x-streamspace-bootstrap-token": this.opts.bootstrapToken };
    this.abort = new AbortController();
    let beat: NodeJS.Timeout | undefined;
    let reconnectMs: number | undefined;
    try {
      for await (const m of client.connect(requests, { headers, signal: this.abort.signal })) {
        const p = m.payload;
        if (p.case === "welcome") {
          this.pod = p.value.pod;
          this.connected = true;
          this.push = push;
          this.welcomes.push({ pod: p.value.pod, at: Date.now() });
          const every = Number(p.value.heartbeatInterval?.seconds ?? 10n) * 1000 || 10_000;
          let seq = 0n;
          beat = setInterval(() => {
            push(msg({ case: "heartbeat", value: { sequence: ++seq, sendTime: timestampNow() } }));
          }, every);
        } else if (p.case === "credentialIssued") {
          this.credential = p.value.credential;
        } else if (p.case === "command") {
          this.onCommand(p.value, push);
        } else if (p.case === "reconnect") {
          const d = p.value.delay;
          reconnectMs = Number(d?.seconds ?? 0n) * 1000 + (d?.nanos ?? 0) / 1e6;
        }
      }
    } finally {
      clearInterval(beat);
      done = true;
      wake?.();
    }
    return reconnectMs;
  }

  private onCommand(c: Command, push: (m: Out) => void): void {
    this.received.set(c.commandId, (this.received.get(c.commandId) ?? 0) + 1);
    this.opts.onCommand?.(c, this);
    push(msg({ case: "commandAck", value: { commandId: c.commandId } }));
    const cached = this.results.get(c.commandId);
    if (cached) {
      push(msg({ case: "commandResult", value: cached }));
      return;
    }
    if (this.executed.has(c.commandId)) return; // running: its result follows
    this.executed.set(c.commandId, 1);
    const finish = () => {
      const result = this.execute(c);
      this.results.set(c.commandId, result);
      // Reply on whatever stream is current: the one the command came on may be gone.
      this.push?.(msg({ case: "commandResult", value: result }));
    };
    if (this.opts.workMs) setTimeout(finish, this.opts.workMs);
    else finish();
  }

  private execute(c: Command): CommandResult {
    const a = c.action;
    // Like a real agent: a desktop it does not run cannot be hibernated or woken.
    if (
      (a.case === "hibernateSession" || a.case === "wakeSession") &&
      !this.sessions.has(a.value.sessionId)
    ) {
      return create(CommandResultSchema, {
        commandId: c.commandId,
        success: false,
        errorMessage: `session ${a.value.sessionId} is not running here`,
      });
    }
    let sessionId = "";
    let state = SessionState.UNSPECIFIED;
    if (a.case === "startSession" || a.case === "wakeSession") {
      sessionId = a.value.sessionId;
      state = SessionState.RUNNING;
    } else if (a.case === "stopSession") {
      sessionId = a.value.sessionId;
      state = SessionState.STOPPED;
    } else if (a.case === "hibernateSession") {
      sessionId = a.value.sessionId;
      state = SessionState.HIBERNATED;
    }
    if (sessionId) {
      if (state === SessionState.STOPPED) this.sessions.delete(sessionId);
      else this.sessions.set(sessionId, state);
    }
    return create(CommandResultSchema, {
      commandId: c.commandId,
      success: true,
      session: sessionId ? { sessionId, state, vncEndpoint: "127.0.0.1:5900" } : undefined,
    });
  }

  private hello(): Out {
    return msg({
      case: "hello",
      value: {
        agentId: this.opts.id,
        platform: Platform.LOCAL,
        region: this.opts.region ?? "",
        version: "sim",
        capacity: {
          maxSessions: this.opts.maxSessions ?? 1000,
          activeSessions: this.sessions.size,
        },
        sessions: [...this.sessions].map(([sessionId, state]) => ({ sessionId, state })),
        completedCommandIds: [...this.results.keys()].slice(-1000),
      },
    });
  }
}

function msg(payload: MessageInitShape<typeof AgentMessageSchema>["payload"]): AgentMessage {
  return create(AgentMessageSchema, { payload });
}
