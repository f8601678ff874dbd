import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { startTestControlPlane } from "./testing/test-control-plane.ts";

const run = promisify(execFile);

test("buf curl lists every service through reflection and calls one", async () => {
  await using t = await startTestControlPlane();
  const base = ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge"];
  const { stdout } = await run("npx", [...base, "--list-services", t.url]);
  const services = stdout.trim().split("\n").sort();
  assert.deepEqual(services, [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "streamspace.agent.v1.AgentGateway",
    "streamspace.v1.AgentService",
    "streamspace.v1.AuditService",
    "streamspace.v1.AuthService",
    "streamspace.v1.SessionService",
    "streamspace.v1.TemplateService",
    "streamspace.v1.UserService",
  ]);
  const token = await t.adminToken();
  const list = await run("npx", [
    ...base,
    "-H",
    `authorization: Bearer ${token}`,
    "-d",
    '{"page_size":1}',
    `${t.url}/streamspace.v1.TemplateService/ListTemplates`,
  ]);
  const body = JSON.parse(list.stdout) as { templates: unknown[]; nextPageToken?: string };
  assert.equal(body.templates.length, 1);
  assert.ok(body.nextPageToken, "a second page exists: the seed has two templates");
});

test("/health, /ready and /metrics answer with the documented shape", async () => {
  await using t = await startTestControlPlane();
  const health = (await (await fetch(`${t.url}/health`)).json()) as Record<string, unknown>;
  assert.equal(health.status, "ok");
  assert.deepEqual(Object.keys(health).sort(), [
    "agents",
    "database",
    "pod",
    "redis",
    "status",
    "version",
  ]);
  assert.deepEqual(health.database, { ok: true, detail: "postgres" });
  const ready = await fetch(`${t.url}/ready`);
  assert.equal(ready.status, 200);
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  for (const name of ["streamspace_agents_connected", "streamspace_api_request_duration_seconds"]) {
    assert.match(metrics, new RegExp(`^# TYPE ${name} `, "m"));
  }
  await t.cp.drain();
  const drained = await fetch(`${t.url}/ready`);
  assert.equal(drained.status, 503);
  assert.equal(((await drained.json()) as { draining: boolean }).draining, true);
});

test("a bad environment stops start-up with one line naming the variable", async () => {
  const { loadConfig } = await import("./config.ts");
  assert.throws(
    () => loadConfig({ PORT: "eighty" }),
    /^ConfigError: PORT="eighty" is not valid: expected a whole number/,
  );
  assert.throws(
    () => loadConfig({ AGENT_HUB_BACKEND: "redis" }),
    /AGENT_HUB_BACKEND=redis needs REDIS_URL/,
  );
  assert.throws(
    () => loadConfig({ AGENT_HEARTBEAT_TIMEOUT: "soon" }),
    /expected a duration like 30s/,
  );
  assert.throws(
    () => loadConfig({ DATABASE_URL: "mysql://x" }),
    /expected a postgres: or postgresql: URL/,
  );
});
