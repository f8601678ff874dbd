/**
 * A real Connect (gRPC over h2c) AgentGateway server for tests. Its handler hands every
 * stream it receives to the test, which can then read what the agent sent and drive the
 * control side (Welcome, Command, Reconnect, ...) or drop the stream. Disposable: closing it
 * ends open streams and the listener.
 */
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { BoundedQueue } from "@streamspace/common/bounded-queue";
import { WAIT } from "@streamspace/common/testing";
import {
  AgentGateway,
  type AgentMessage,
  type ControlMessageSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";

type ControlInit = MessageInitShape<typeof ControlMessageSchema>;

/** One agent stream as the server sees it. */
export class FakeStream {
  readonly received: AgentMessage[] = [];
  readonly out = new BoundedQueue<ControlInit>(1000);
  ended = false;
  private waiter: (() => void) | undefined;

  constructor(readonly headers: Headers) {}

  /** Sends a control message to the agent. */
  send(msg: ControlInit): void {
    if (!this.out.push(msg)) throw new Error("fake stream is closed or full");
  }

  /** Ends the stream from the server side. */
  end(): void {
    this.out.close();
  }

  /** Waits for the next agent message matching `pred` (searching from index `from`). */
  async waitFor(
    pred: (m: AgentMessage) => boolean,
    timeoutMs: number = WAIT.medium,
    from = 0,
  ): Promise<AgentMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find(pred);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`fake gateway: no matching agent message within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  count(kind: AgentMessage["payload"]["case"]): number {
    return this.received.filter((m) => m.payload.case === kind).length;
  }

  push(m: AgentMessage): void {
    this.received.push(m);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/** The fake server; `nextStream()` resolves with each new agent stream in order. */
export class FakeGateway {
  readonly streams: FakeStream[] = [];
  private waiters: (() => void)[] = [];
  private taken = 0;

  private constructor(
    private readonly server: Http2Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeGateway> {
    let self: FakeGateway | undefined;
    const routes = (router: ConnectRouter) =>
      router.service(AgentGateway, {
        async *connect(requests, ctx) {
          const stream = new FakeStream(ctx.requestHeader);
          self?.accept(stream);
          ctx.signal.addEventListener("abort", () => stream.end(), { once: true });
          void (async () => {
            try {
              for await (const m of requests) stream.push(m);
            } catch {
              // the agent went away
            } finally {
              stream.ended = true;
              stream.end();
            }
          })();
          yield* stream.out;
        },
      });
    const server = createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    self = new FakeGateway(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** The next stream not yet handed out, waiting up to `timeoutMs`. */
  async nextStream(timeoutMs: number = WAIT.medium): Promise<FakeStream> {
    const deadline = Date.now() + timeoutMs;
    while (this.streams.length <= this.taken) {
      if (Date.now() > deadline)
        throw new Error(`fake gateway: no agent stream within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.streams[this.taken++] as FakeStream;
  }

  private accept(s: FakeStream): void {
    this.streams.push(s);
    for (const w of this.waiters.splice(0)) w();
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.end();
    await new Promise<void>((r) => {
      this.server.close(() => r());
      // Sessions left by clients that were not closed would keep close() waiting forever.
      setTimeout(r, 1_000).unref();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
