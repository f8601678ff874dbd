import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { bundleDeployables } from "./bundle.ts";
import { freePorts, startLocalSystem } from "./local-system.ts";

test("the production bundles run the system with plain node: agent connected, API answers", async (t) => {
  const built = await bundleDeployables();
  assert.match(built["control-plane"] ?? "", /control-plane\/dist\/main\.mjs$/);
  const dataDir = mkdtempSync(join(tmpdir(), "ss-bundle-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: string[] = [];
  const ports = await freePorts();
  await using system = await startLocalSystem({
    dataDir,
    ...ports,
    output: (name, line) => logs.push(`${name}: ${line}`),
    bundled: ["control-plane", "dataplane", "agents"],
  });
  try {
    // startLocalSystem resolved, so /health reported the agent connected; the API works too.
    const transport = createGrpcTransport({ baseUrl: system.url });
    const auth = createClient(AuthService, transport);
    const res = await auth.login({ username: system.username, password: system.password });
    assert.ok(res.tokens?.accessToken);
    // The bundled agent starts both kinds of desktop (its helpers ship beside its bundle).
    const headers = { authorization: `Bearer ${res.tokens.accessToken}` };
    const sessions = createClient(SessionService, transport);
    for (const template of ["demo-desktop", "xterm-desktop"]) {
      const { session } = await sessions.createSession({ template }, { headers });
      const state = await eventuallyFound(
        async () => {
          const s = (await sessions.getSession({ id: session!.id }, { headers })).session;
          return s?.state === SessionState.RUNNING ? s.state : undefined;
        },
        { what: `${template} to run`, timeoutMs: WAIT.long },
      );
      assert.equal(state, SessionState.RUNNING, `${template} runs from the bundled agent`);
      await sessions.stopSession({ id: session!.id }, { headers });
    }
    const relayHealth = await fetch(`http://127.0.0.1:${ports.relayPort}/health`);
    assert.equal(relayHealth.status, 200);
    // They really run from the bundles, without the tsx loader.
    for (const [name, pid] of [
      ["control-plane", system.pids.controlPlane],
      ["dataplane", system.pids.relay],
      ["agents", system.pids.agent],
    ] as const) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      assert.ok(argv.includes(join(name, "dist/main.mjs")), argv.join(" "));
      assert.ok(!argv.includes("tsx"), argv.join(" "));
    }
  } catch (err) {
    process.stderr.write(`${logs.slice(-30).join("\n")}\n`);
    throw err;
  }
});
