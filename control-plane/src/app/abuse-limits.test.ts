/**
 * The abuse limits of a real pod, with small settings so the test reaches them: requests per
 * second per user and per API key (one budget across Connect and tRPC), streams per agent
 * credential, and the message-size bounds every road already had. Each refusal is
 * RESOURCE_EXHAUSTED (HTTP 429 on tRPC) and says how long to wait.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  AgentGateway,
  type AgentMessage,
  AgentMessageSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import { WebSocket } from "ws";
import { startTestControlPlane, type TestControlPlane } from "../testing/test-control-plane.ts";

let cp: TestControlPlane;
before(async () => {
  cp = await startTestControlPlane({
    env: {
      RATE_LIMIT_USER_RPS: "1",
      RATE_LIMIT_USER_BURST: "3",
      RATE_LIMIT_API_KEY_RPS: "1",
      RATE_LIMIT_API_KEY_BURST: "2",
      AGENT_MAX_STREAMS_PER_CREDENTIAL: "1",
      AGENT_AUTO_APPROVE: "true",
    },
  });
});
after(async () => cp?.close());

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("the call was accepted");
};

describe("requests per second", () => {
  test("per user across both roads, then per API key, each refusal with the wait", async () => {
    const token = await cp.login("admin", "admin-password-for-tests");
    const grpc = createGrpcTransport({ baseUrl: cp.url });
    const auth = createClient(AuthService, grpc);
    // Minting the key is the first of the user's three.
    const { secret } = await auth.createApiKey(
      { name: "limits" },
      { headers: { authorization: `Bearer ${token}` } },
    );
    const asUser = { headers: { authorization: `Bearer ${token}` } };
    const sessions = createClient(SessionService, grpc);
    await sessions.listSessions({}, asUser);
    await sessions.listSessions({}, asUser);
    const err = await refusal(sessions.listSessions({}, asUser));
    assert.equal(err.code, Code.ResourceExhausted);
    assert.match(err.rawMessage, /Too many requests from your user.*Retry in/);
    assert.ok(Number(err.metadata.get("retry-after")) >= 1, "retry-after (gRPC trailer)");

    // The same budget on the Connect protocol and on tRPC: HTTP 429 with Retry-After.
    const connect = createClient(
      SessionService,
      createConnectTransport({ baseUrl: cp.url, httpVersion: "1.1" }),
    );
    const viaConnect = await refusal(connect.listSessions({}, asUser));
    assert.ok(Number(viaConnect.metadata.get("retry-after")) >= 1, "retry-after header");
    const res = await fetch(`${cp.url}/trpc/sessions.list`, asUser);
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    const body = (await res.json()) as { error: { data: { retryAfterMs: number } } };
    assert.ok(body.error.data.retryAfterMs > 0);

    // An API key of the same user has a budget of its own.
    const asKey = { headers: { authorization: `Bearer ${secret}` } };
    await sessions.listSessions({}, asKey);
    await sessions.listSessions({}, asKey);
    const keyErr = await refusal(sessions.listSessions({}, asKey));
    assert.equal(keyErr.code, Code.ResourceExhausted);
    assert.match(keyErr.rawMessage, /this API key/);
  });
});

/** A hand-driven agent stream: frames in, frames out. */
function agentStream(headers: Record<string, string>) {
  const client = createClient(AgentGateway, createGrpcTransport({ baseUrl: cp.url }));
  const queue: AgentMessage[] = [];
  let wake: () => void = () => {};
  let done = false;
  const requests = (async function* () {
    while (!done) {
      const m = queue.shift();
      if (m) yield m;
      else await new Promise<void>((r) => (wake = r));
    }
  })();
  const ac = new AbortController();
  const it = client.connect(requests, { headers, signal: ac.signal })[Symbol.asyncIterator]();
  return {
    send(m: AgentMessage) {
      queue.push(m);
      wake();
    },
    next: () => it.next(),
    close() {
      done = true;
      wake();
      ac.abort();
    },
  };
}

const hello = (agentId: string) =>
  create(AgentMessageSchema, {
    payload: {
      case: "hello",
      value: { agentId, platform: Platform.LOCAL, capacity: { maxSessions: 1 } },
    },
  });

describe("streams per agent credential", () => {
  test("one stream more than the limit is refused with the wait", async () => {
    const enrol = agentStream({ "x-streamspace-bootstrap-token": "test-bootstrap-token" });
    enrol.send(hello("limited-agent"));
    let credential = "";
    for (let i = 0; i < 3 && !credential; i++) {
      const m = await enrol.next();
      if (m.value?.payload.case === "credentialIssued")
        credential = m.value.payload.value.credential;
    }
    enrol.close();
    assert.ok(credential);

    const first = agentStream({ authorization: `Bearer ${credential}` });
    first.send(hello("limited-agent"));
    assert.equal((await first.next()).value?.payload.case, "welcome");
    const second = agentStream({ authorization: `Bearer ${credential}` });
    second.send(hello("limited-agent"));
    const err = await refusal(second.next());
    assert.equal(err.code, Code.ResourceExhausted);
    assert.match(err.rawMessage, /already holds 1 streams.*retry in \d+ s/);
    assert.equal(err.metadata.get("retry-after"), "5");
    first.close();
    second.close();
  });
});

describe("message sizes (already bounded)", () => {
  test("Connect and gRPC refuse a request over 4 MiB with RESOURCE_EXHAUSTED", async () => {
    const token = await cp.login("admin", "admin-password-for-tests");
    const huge = { template: "demo-desktop", displayName: "x".repeat(5 << 20) };
    for (const transport of [
      createGrpcTransport({ baseUrl: cp.url }),
      createConnectTransport({ baseUrl: cp.url, httpVersion: "1.1" }),
    ]) {
      const c = createClient(SessionService, transport);
      const err = await refusal(
        c.createSession(huge, { headers: { authorization: `Bearer ${token}` } }),
      );
      assert.equal(err.code, Code.ResourceExhausted);
    }
  });

  test("an agent frame over 4 MiB ends the stream with RESOURCE_EXHAUSTED", async () => {
    const s = agentStream({ "x-streamspace-bootstrap-token": "test-bootstrap-token" });
    const big = hello("big-agent");
    if (big.payload.case === "hello") big.payload.value.labels = { blob: "y".repeat(5 << 20) };
    s.send(big);
    const err = await refusal(s.next());
    assert.equal(err.code, Code.ResourceExhausted);
    s.close();
  });

  test("tRPC refuses a body over 1 MiB (413) and a WebSocket frame over 1 MiB (1009)", async () => {
    const res = await fetch(`${cp.url}/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "p".repeat(2 << 20) }),
    });
    assert.equal(res.status, 413);
    const ws = new WebSocket(`${cp.url.replace("http", "ws")}/trpc`);
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send(Buffer.alloc(2 << 20, 0x61));
    assert.equal(await closed, 1009);
  });
});
