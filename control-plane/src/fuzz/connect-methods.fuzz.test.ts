/**
 * Fuzzing every Connect method of the public API against a real pod (real handlers,
 * interceptors, Postgres), with fast-check, seeded (FUZZ_SEED, FUZZ_RUNS):
 *  - random messages built from each method's request descriptor, as an admin (to reach the
 *    deepest code) and anonymously;
 *  - mutated encodings of random messages, posted raw as `application/proto`.
 * Properties: no call answers INTERNAL/UNKNOWN/DATA_LOSS (HTTP 500), the pod answers /health
 * afterwards, no unhandled rejection, and the heap after GC stays within a bound.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, type DescMethod, type DescService, toBinary } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as reflV1 from "@streamspace/proto/grpc/reflection/v1/reflection_pb";
import { Health } from "@streamspace/proto/health/v1/health_pb";
import { AgentService } from "@streamspace/proto/streamspace/v1/agent_service_pb";
import { AuditService } from "@streamspace/proto/streamspace/v1/audit_service_pb";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { UserService } from "@streamspace/proto/streamspace/v1/user_service_pb";
import fc from "fast-check";
import {
  startTestControlPlane,
  TEST_ADMIN_PASSWORD,
  type TestControlPlane,
} from "../testing/test-control-plane.ts";
import {
  fuzzParams,
  heapAfterGc,
  messageArb,
  mutate,
  mutation,
  watchUnhandled,
} from "./fuzz-test-kit.ts";

const SERVICES: DescService[] = [
  AuthService,
  UserService,
  SessionService,
  TemplateService,
  AgentService,
  AuditService,
  Health,
  reflV1.ServerReflection,
];
/** Codes that mean the server failed, never the caller. */
const SERVER_FAULTS = new Set([Code.Internal, Code.Unknown, Code.DataLoss]);

let cp: TestControlPlane;
let token = "";
let heapBefore = 0;
const unhandled = watchUnhandled();

before(async () => {
  cp = await startTestControlPlane({
    // The fuzzer is one admin making thousands of calls: measure faults, not the rate limit.
    env: { RATE_LIMIT_USER_RPS: "0", AGENT_AUTO_APPROVE: "true" },
  });
  token = await cp.adminToken();
  heapBefore = heapAfterGc();
});
after(async () => cp?.close());

/** An admin token; a fuzzed Logout may revoke it, so a refusal fetches a new one. */
async function asAdmin() {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** Calls one method with `msg`; resolves with the code it ended with ("OK" or a Code). */
async function call(
  client: Client<DescService>,
  m: DescMethod,
  msg: Record<string, unknown>,
  opts: { headers: Record<string, string> },
): Promise<Code | "OK"> {
  const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[m.localName]!;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 10_000);
  try {
    if (m.methodKind === "unary") {
      await fn(msg, { ...opts, signal: ac.signal });
    } else if (m.methodKind === "server_streaming") {
      // Streams that accept answer at once; one message is enough to judge.
      for await (const _ of fn(msg, { ...opts, signal: ac.signal }) as AsyncIterable<unknown>) {
        break;
      }
    } else {
      async function* one() {
        yield msg;
      }
      for await (const _ of fn(one(), { ...opts, signal: ac.signal }) as AsyncIterable<unknown>) {
        break;
      }
    }
    return "OK";
  } catch (err) {
    const ce = ConnectError.from(err);
    if (ce.code === Code.Canceled && ac.signal.aborted) return Code.DeadlineExceeded;
    if (ce.code === Code.Unauthenticated && opts.headers.authorization) {
      token = await cp.login("admin", TEST_ADMIN_PASSWORD);
    }
    if (SERVER_FAULTS.has(ce.code)) {
      throw new Error(`${m.parent.typeName}/${m.name} answered ${Code[ce.code]}: ${ce.rawMessage}`);
    }
    return ce.code;
  } finally {
    clearTimeout(timer);
  }
}

describe("every Connect method under random and mutated messages (fuzz)", () => {
  for (const service of SERVICES) {
    for (const m of service.methods) {
      test(`${service.typeName}/${m.name}: random messages never answer a server fault`, async () => {
        const client = createClient(service, createGrpcTransport({ baseUrl: cp.url }));
        await fc.assert(
          fc.asyncProperty(messageArb(m.input), fc.boolean(), async (init, anonymous) => {
            const msg = create(m.input, init as never) as unknown as Record<string, unknown>;
            await call(client, m, msg, anonymous ? { headers: {} } : await asAdmin());
          }),
          fuzzParams(25),
        );
      });
    }
  }

  test("mutated binary bodies on every unary method: a client error, never HTTP 500", async () => {
    const unary = SERVICES.flatMap((s) => s.methods.filter((m) => m.methodKind === "unary"));
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...unary)
          .chain((m) =>
            fc.tuple(
              fc.constant(m),
              messageArb(m.input, 2),
              fc.array(mutation, { minLength: 1, maxLength: 4 }),
            ),
          ),
        async ([m, init, edits]) => {
          const body = mutate(toBinary(m.input, create(m.input, init as never)), edits);
          const res = await fetch(`${cp.url}/${m.parent.typeName}/${m.name}`, {
            method: "POST",
            headers: {
              "content-type": "application/proto",
              "connect-protocol-version": "1",
              ...(await asAdmin()).headers,
            },
            body: Uint8Array.from(body),
          });
          const text = await res.text();
          assert.ok(res.status < 500, `${m.name} answered HTTP ${res.status}: ${text}`);
        },
      ),
      fuzzParams(300),
    );
  });

  test("afterwards: the pod is healthy, nothing was left unhandled, the heap is bounded", async () => {
    assert.equal((await fetch(`${cp.url}/health`)).status, 200);
    assert.deepEqual(unhandled.stop(), []);
    const grown = heapAfterGc() - heapBefore;
    assert.ok(grown < 96 * 1024 * 1024, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  });
});
