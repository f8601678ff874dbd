/**
 * Test kit for the gateway: a real HTTP/2 Connect server around a Gateway, and a scripted agent
 * that drives both directions of a real gRPC stream (the connect-es useNodeServer idea: real
 * transports, disposable fixtures). Used by gateway and hub tests only.
 */
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { BoundedQueue } from "@streamspace/common/bounded-queue";
import { eventually, WAIT } from "@streamspace/common/testing";
import {
  AgentGateway,
  type AgentMessage,
  AgentMessageSchema,
  type ControlMessage,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { type Gateway, registerAgentGateway } from "./agent-gateway.ts";

/** Test waits come from the shared set (common/src/testing.ts). */
export { eventually, WAIT };

/** A gateway behind a real h2c server on a free loopback port. */
export interface GatewayServer extends AsyncDisposable {
  url: string;
  server: Http2Server;
  client: Client<typeof AgentGateway>;
  close(): Promise<void>;
}

/** Starts an h2c server for the gateway; close() ends streams and the server. */
export async function startGatewayServer(gateway: Gateway): Promise<GatewayServer> {
  const handler = connectNodeAdapter({ routes: (r) => registerAgentGateway(r, gateway) });
  const server = createServer(handler);
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const manager = new Http2SessionManager(url);
  const client = createClient(
    AgentGateway,
    createGrpcTransport({ baseUrl: url, sessionManager: manager }),
  );
  const close = async () => {
    await gateway.close();
    manager.abort();
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sessions) s.destroy();
    await closed;
  };
  return { url, server, client, close, [Symbol.asyncDispose]: close };
}

let marker = 1_000_000n;

/**
 * Sends a heartbeat and waits until the gateway has read it. A stream is read in order, one
 * frame at a time, so every frame the agent sent before it has been handled by then (acks
 * queued, results and session events applied): the event tests wait for instead of a sleep.
 */
export async function untilRead(
  gateway: Gateway,
  agent: ScriptedAgent,
  agentId: string,
): Promise<void> {
  const sequence = ++marker;
  agent.send({ case: "heartbeat", value: { sequence } });
  await eventually(() => gateway.connection(agentId)?.lastSequence === sequence);
}

type PayloadOf<K> =
  Extract<ControlMessage["payload"], { case: K }> extends { value: infer V } ? V : never;

type AgentPayload = MessageInitShape<typeof AgentMessageSchema>["payload"];

/** A scripted agent: send frames, read what the control plane sent, see how the stream ended. */
export class ScriptedAgent implements AsyncDisposable {
  readonly received: ControlMessage[] = [];
  readonly out = new BoundedQueue<AgentMessage>(10_000);
  /** Resolves with undefined on a clean end, or the ConnectError the stream ended with. */
  readonly ended: Promise<ConnectError | undefined>;
  private readonly abort = new AbortController();

  constructor(client: Client<typeof AgentGateway>, headers: Record<string, string>) {
    const out = this.out;
    const requests = (async function* () {
      yield* out;
    })();
    const stream = client.connect(requests, { headers, signal: this.abort.signal });
    this.ended = (async () => {
      try {
        for await (const m of stream) this.received.push(m);
        return undefined;
      } catch (err) {
        return ConnectError.from(err);
      }
    })();
  }

  send(payload: AgentPayload): void {
    this.out.push(create(AgentMessageSchema, { payload }));
  }

  /** Waits for the n-th frame of a kind (0-based) and returns it. */
  async waitFor<K extends NonNullable<ControlMessage["payload"]["case"]>>(
    kind: K,
    n = 0,
    timeoutMs: number = WAIT.short,
  ): Promise<PayloadOf<K>> {
    const found = await eventually(
      () => {
        const m = this.received.filter((x) => x.payload.case === kind)[n];
        if (!m) throw new Error(`no ${kind} #${n}; got ${this.kinds().join(",")}`);
        return m;
      },
      { timeoutMs },
    );
    return found.payload.value as unknown as PayloadOf<K>;
  }

  kinds(): string[] {
    return this.received.map((m) => m.payload.case ?? "empty");
  }

  /** Half-closes the request side (a polite agent leaving). */
  finish(): void {
    this.out.close();
  }

  /** Drops the call abruptly (a crashed agent). */
  kill(): void {
    this.abort.abort();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
    await this.ended;
  }
}
