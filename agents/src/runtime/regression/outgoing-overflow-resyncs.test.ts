/**
 * Regression: a stream whose outgoing side stalls must not grow memory or lose results. The
 * bounded queue overflows, the runtime drops the stream, redials, and every command's result
 * (including those stuck in the dead stream's queue) reaches the next stream after Welcome,
 * paced so the backlog itself does not overflow the new stream.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { silentLogger } from "@streamspace/common/log";
import { eventuallyFound } from "@streamspace/common/testing";
import {
  type AgentGateway,
  type AgentMessage,
  type ControlMessage,
  ControlMessageSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import { FakeDriver } from "../../testing/fake-driver.ts";
import { AgentRuntime } from "../agent-runtime.ts";

const welcome = create(ControlMessageSchema, {
  payload: {
    case: "welcome",
    value: { pod: "p", approved: true, heartbeatInterval: durationFromMs(100) },
  },
});
const start = (i: number) =>
  create(ControlMessageSchema, {
    payload: {
      case: "command",
      value: {
        commandId: `c${i}`,
        deadline: timestampFromMs(Date.now() + 10_000),
        action: {
          case: "startSession",
          value: { sessionId: `s${i}`, template: { image: "builtin:demo" } },
        },
      },
    },
  });

test("outgoing overflow drops the stream and the next stream gets every result", async () => {
  const received: AgentMessage[][] = [];
  let dials = 0;
  const dial = () => {
    const n = dials++;
    const got: AgentMessage[] = [];
    received.push(got);
    const client = {
      connect(requests: AsyncIterable<AgentMessage>, opts: { signal: AbortSignal }) {
        if (n > 0) {
          void (async () => {
            for await (const m of requests) got.push(m);
          })();
        } // the first stream never reads what the agent sends: it stalls
        return (async function* (): AsyncGenerator<ControlMessage> {
          yield welcome;
          if (n === 0) for (let i = 0; i < 10; i++) yield start(i);
          if (!opts.signal.aborted) {
            await new Promise((r) => opts.signal.addEventListener("abort", r, { once: true }));
          }
          throw new Error("stream aborted");
        })();
      },
    } as unknown as Client<typeof AgentGateway>;
    return { client, close() {} };
  };
  const rt = new AgentRuntime({
    agentId: "a",
    urls: ["http://unused"],
    platform: Platform.LOCAL,
    region: "r",
    version: "t",
    labels: {},
    maxSessions: 100,
    maxCpuMillis: 1000n,
    maxMemoryBytes: 1n << 30n,
    driver: new FakeDriver(),
    log: silentLogger,
    outgoingQueueSize: 4,
    backoff: { initialMs: 10, maxMs: 50 },
    dial,
  });
  rt.start();
  try {
    await eventuallyFound(() => dials >= 2, { what: "a redial after overflow" });
    const results = () =>
      new Set(
        received[1]?.flatMap((m) =>
          m.payload.case === "commandResult" ? [m.payload.value.commandId] : [],
        ),
      );
    await eventuallyFound(() => results().size === 10, {
      what: "all ten results on the new stream",
    });
    assert.equal(received[1]?.[0]?.payload.case, "hello");
    assert.equal(
      dials,
      2,
      "the backlog is paced into the new stream, not burst into another overflow",
    );
    assert.equal(received[0]?.length, 0, "nothing was read from the stalled stream");
  } finally {
    await rt.stop(500);
  }
});
