/**
 * One trace from the API request to the agent's work (DESIGN.md §8): a CreateSession carrying a
 * W3C traceparent is answered by a control-plane span in that trace, and the agent's StartSession
 * work is a child of it, because the trace context travels in the outbox command. Both real
 * processes export over OTLP/HTTP to a small receiver in this test.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { freePorts, startLocalSystem } from "../scripts/local-system.ts";

interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

/** OTLP ids arrive as hex in the JSON encoding; accept base64 too, in case an exporter sends it. */
const hex = (id: unknown) =>
  typeof id !== "string" || /^[0-9a-f]*$/.test(id)
    ? String(id ?? "")
    : Buffer.from(id, "base64").toString("hex");

/** A minimal OTLP/HTTP JSON trace receiver: it keeps every span it is sent. */
async function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        for (const rs of body.resourceSpans ?? []) {
          const attrs: Array<{ key: string; value: { stringValue?: string } }> =
            rs.resource?.attributes ?? [];
          const service = attrs.find((a) => a.key === "service.name")?.value.stringValue ?? "";
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                service,
                name: s.name,
                traceId: hex(s.traceId),
                spanId: hex(s.spanId),
                parentSpanId: hex(s.parentSpanId),
              });
            }
          }
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  };
  return { url: `http://127.0.0.1:${port}`, spans, close, [Symbol.asyncDispose]: close };
}

test("a session start is one trace from the API call to the agent's work", async (t) => {
  await using receiver = await startReceiver();
  const dataDir = mkdtempSync(join(tmpdir(), "ss-trace-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: string[] = [];
  await using system = await startLocalSystem({
    dataDir,
    ...(await freePorts()),
    output: (name, line) => logs.push(`${name}: ${line}`),
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "200" },
  });
  try {
    const transport = createGrpcTransport({ baseUrl: system.url });
    const login = await createClient(AuthService, transport).login({
      username: system.username,
      password: system.password,
    });
    const sessions = createClient(SessionService, transport);
    const auth = { authorization: `Bearer ${login.tokens!.accessToken}` };
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const { session } = await sessions.createSession(
      { template: "demo-desktop" },
      { headers: { ...auth, traceparent: `00-${traceId}-${callerSpan}-01` } },
    );
    await eventuallyFound(
      async () => {
        const s = (await sessions.getSession({ id: session!.id }, { headers: auth })).session;
        return s?.state === SessionState.RUNNING ? s : undefined;
      },
      { what: "the session to run", timeoutMs: WAIT.slow },
    );

    const api = await eventuallyFound(
      () =>
        receiver.spans.find(
          (s) => s.traceId === traceId && s.name === "streamspace.v1.SessionService/CreateSession",
        ),
      { what: "the control plane's CreateSession span", timeoutMs: WAIT.long },
    );
    assert.equal(api.service, "streamspace-control-plane");
    assert.equal(api.parentSpanId, callerSpan, "the API span continues the caller's trace");
    const work = await eventuallyFound(
      () => receiver.spans.find((s) => s.traceId === traceId && s.service === "streamspace-agent"),
      { what: "the agent's startSession span", timeoutMs: WAIT.long },
    );
    assert.equal(work.name, "agent startSession");
    assert.equal(work.parentSpanId, api.spanId, "the agent's work is a child of the API call");

    // A request without a traceparent starts a trace of its own; it never joins ours.
    await sessions.stopSession({ id: session!.id }, { headers: auth });
    const stop = await eventuallyFound(
      () => receiver.spans.find((s) => s.name === "streamspace.v1.SessionService/StopSession"),
      { what: "the StopSession span", timeoutMs: WAIT.long },
    );
    assert.notEqual(stop.traceId, traceId);
    assert.equal(stop.parentSpanId, "");
  } catch (err) {
    process.stderr.write(`--- system logs ---\n${logs.slice(-40).join("\n")}\n`);
    throw err;
  }
});
