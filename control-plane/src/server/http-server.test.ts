import assert from "node:assert/strict";
import { test } from "node:test";
import { requestSpanName } from "./http-server.ts";

test("API requests get a span name; probes, files and agent streams do not", () => {
  assert.equal(
    requestSpanName("/streamspace.v1.SessionService/CreateSession"),
    "streamspace.v1.SessionService/CreateSession",
  );
  assert.equal(requestSpanName("/grpc.health.v1.Health/Check"), "grpc.health.v1.Health/Check");
  assert.equal(requestSpanName("/trpc/sessions.create?batch=1"), "trpc sessions.create");
  assert.equal(requestSpanName("/streamspace.agent.v1.AgentGateway/Connect"), undefined);
  for (const path of ["/health", "/ready", "/metrics", "/", "/assets/index.js", "/vnc/abc"]) {
    assert.equal(requestSpanName(path), undefined, path);
  }
});
