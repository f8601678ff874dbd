/**
 * Fuzzing the AgentGateway stream as a hostile agent, against a real pod (auto-approve, so a
 * bootstrap-token stream reaches every handler): frames in any order (Hello missing, late or
 * repeated), duplicate acks and results, unknown and malformed session and command ids, states
 * out of range, hostile labels and region text, the occasional oversized frame. Seeded
 * (FUZZ_SEED, FUZZ_RUNS). Properties: every stream ends with a client-side code (never
 * INTERNAL/UNKNOWN) or cleanly; no report touches a session of another agent; the pod stays
 * healthy; nothing is left unhandled; the heap after GC stays bounded.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  AgentGateway,
  type AgentMessage,
  AgentMessageSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { Platform, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import fc from "fast-check";
import { startTestControlPlane, type TestControlPlane } from "../testing/test-control-plane.ts";
import { fuzzParams, heapAfterGc, messageArb, watchUnhandled } from "./fuzz-test-kit.ts";

const SERVER_FAULTS = new Set([Code.Internal, Code.Unknown, Code.DataLoss]);
const BOOT = "test-bootstrap-token";

let cp: TestControlPlane;
let heapBefore = 0;
/** A session of another agent ("bystander"): no fuzzed frame may change it. */
let bystanderSession = "";
const unhandled = watchUnhandled();

/** Runs one stream: sends `frames`, half-closes, reads to the end; returns how it ended. */
async function runStream(frames: AgentMessage[]): Promise<Code | "OK"> {
  const client = createClient(AgentGateway, createGrpcTransport({ baseUrl: cp.url }));
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15_000);
  async function* requests() {
    yield* frames;
  }
  try {
    for await (const _ of client.connect(requests(), {
      headers: { "x-streamspace-bootstrap-token": BOOT },
      signal: ac.signal,
    })) {
      // Read whatever the pod sends; the stream ends once it has read our half-close.
    }
    return "OK";
  } catch (err) {
    const ce = ConnectError.from(err);
    if (ac.signal.aborted) throw new Error("the stream neither ended nor answered in 15 s");
    return ce.code;
  } finally {
    clearTimeout(timer);
  }
}

before(async () => {
  cp = await startTestControlPlane({
    env: { AGENT_AUTO_APPROVE: "true", RATE_LIMIT_USER_RPS: "0", AGENT_HEARTBEAT_TIMEOUT: "60s" },
  });
  // A bystander agent with one session, enrolled, given a session, then gone.
  const hello = create(AgentMessageSchema, {
    payload: {
      case: "hello",
      value: { agentId: "bystander", platform: Platform.LOCAL, capacity: { maxSessions: 5 } },
    },
  });
  let leave: () => void = () => {};
  const left = new Promise<void>((r) => (leave = r));
  async function* stay() {
    yield hello;
    await left;
  }
  const client = createClient(AgentGateway, createGrpcTransport({ baseUrl: cp.url }));
  const it = client
    .connect(stay(), { headers: { "x-streamspace-bootstrap-token": BOOT } })
    [Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.payload.case, "welcome");
  const sessions = createClient(SessionService, createGrpcTransport({ baseUrl: cp.url }));
  const admin = { headers: { authorization: `Bearer ${await cp.adminToken()}` } };
  bystanderSession =
    (await sessions.createSession({ template: "demo-desktop" }, admin)).session?.id ?? "";
  leave();
  for (;;) if ((await it.next().catch(() => ({ done: true }))).done) break;
  heapBefore = heapAfterGc();
});
after(async () => cp?.close());

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom("", "\u0000", "fuzz-a", "x".repeat(300), "💥"),
);
const anyId = () => fc.oneof(fc.uuid(), text, fc.constant(bystanderSession));
const report = () =>
  fc.record({
    sessionId: anyId(),
    state: fc.oneof(
      fc.constantFrom(...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
      fc.integer({ min: -2, max: 40 }),
    ),
    vncEndpoint: text,
    reason: text,
  });
const hello = () =>
  fc.record({
    agentId: fc.oneof(fc.constantFrom("fuzz-a", "fuzz-b"), text),
    platform: fc.integer({ min: -1, max: 5 }),
    region: text,
    version: text,
    labels: fc.dictionary(text, text, { maxKeys: 5 }),
    capacity: fc.record({
      maxSessions: fc.integer({ min: -5, max: 20 }),
      activeSessions: fc.integer({ min: -5, max: 20 }),
    }),
    sessions: fc.array(report(), { maxLength: 4 }),
    completedCommandIds: fc.array(anyId(), { maxLength: 3 }),
  });
const payload = () =>
  fc.oneof(
    { weight: 3, arbitrary: hello().map((value) => ({ case: "hello" as const, value })) },
    {
      weight: 2,
      arbitrary: fc
        .bigInt({ min: 0n, max: 2n ** 64n - 1n })
        .map((sequence) => ({ case: "heartbeat" as const, value: { sequence } })),
    },
    {
      weight: 2,
      arbitrary: anyId().map((commandId) => ({
        case: "commandAck" as const,
        value: { commandId },
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          commandId: anyId(),
          success: fc.boolean(),
          errorMessage: text,
          session: report(),
        })
        .map((value) => ({ case: "commandResult" as const, value })),
    },
    {
      weight: 3,
      arbitrary: report().map((session) => ({ case: "sessionEvent" as const, value: { session } })),
    },
    { weight: 1, arbitrary: messageArb(AgentMessageSchema, 2).map((m) => m.payload) },
  );

/** A frame list: mostly Hello first, then anything, with duplicates spliced in. */
const frames = fc
  .tuple(
    fc.option(hello(), { freq: 4 }),
    fc.array(payload(), { maxLength: 12 }),
    fc.array(fc.nat(), { maxLength: 3 }),
  )
  .map(([h, rest, dups]) => {
    const list = [...(h ? [{ case: "hello" as const, value: h }] : []), ...rest];
    for (const d of dups) if (list.length) list.push(list[d % list.length]!);
    return list.map((p) => create(AgentMessageSchema, { payload: p as never }));
  });

describe("the agents' stream as a hostile agent (fuzz)", () => {
  test("any frame sequence ends cleanly or with a client-side code", async () => {
    await fc.assert(
      fc.asyncProperty(frames, async (list) => {
        const ended = await runStream(list);
        assert.ok(
          ended === "OK" || !SERVER_FAULTS.has(ended),
          `the stream ended with ${Code[ended as Code]}`,
        );
      }),
      fuzzParams(120),
    );
  });

  test("an oversized frame is refused with RESOURCE_EXHAUSTED", async () => {
    const big = create(AgentMessageSchema, {
      payload: {
        case: "hello",
        value: { agentId: "fuzz-big", platform: Platform.LOCAL, region: "r".repeat(5 << 20) },
      },
    });
    assert.equal(await runStream([big]), Code.ResourceExhausted);
  });

  test("afterwards: the bystander's session is untouched, the pod healthy, nothing leaked", async () => {
    const sessions = createClient(SessionService, createGrpcTransport({ baseUrl: cp.url }));
    const admin = { headers: { authorization: `Bearer ${await cp.adminToken()}` } };
    const s = (await sessions.getSession({ id: bystanderSession }, admin)).session;
    assert.equal(s?.agentId, "bystander");
    assert.equal(s?.state, SessionState.SCHEDULED);
    assert.equal((await fetch(`${cp.url}/health`)).status, 200);
    assert.deepEqual(unhandled.stop(), []);
    const grown = heapAfterGc() - heapBefore;
    assert.ok(grown < 96 * 1024 * 1024, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  });
});
