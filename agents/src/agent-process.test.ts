import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { silentLogger } from "@streamspace/common/log";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import type { AgentMessage } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { startAgentProcess } from "./agent-process.ts";
import { loadConfig } from "./config.ts";
import { groupMembers } from "./drivers/local/process-group.ts";
import { FakeGateway } from "./testing/fake-gateway.ts";
import { RfbClient } from "./vnc/rfb-client.ts";

function env(gw: FakeGateway, dataDir: string, extra: Record<string, string> = {}) {
  return {
    AGENT_ID: "agent-proc",
    CONTROL_PLANE_URL: gw.url,
    AGENT_DATA_DIR: dataDir,
    AGENT_HEALTH_PORT: "0",
    AGENT_HEALTH_HOST: "127.0.0.1",
    AGENT_BOOTSTRAP_TOKEN: "boot",
    ...extra,
  };
}

/** IPv4 addresses with a listening TCP socket on `port`, from /proc/net/tcp. */
function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    const [hexIp, hexPort] = (local ?? "").split(":");
    if (state !== "0A" || !hexIp || Number.parseInt(hexPort ?? "", 16) !== port) continue;
    // Little-endian hex: 0100007F is 127.0.0.1.
    out.push(
      (hexIp.match(/../g) ?? [])
        .reverse()
        .map((b) => Number.parseInt(b, 16))
        .join("."),
    );
  }
  return out;
}

const resultOf = (id: string) => (m: AgentMessage) =>
  m.payload.case === "commandResult" && m.payload.value.commandId === id;

describe("agent process", () => {
  test("health/ready, builtin session start, restart re-adopts, credential saved", async () => {
    await using gw = await FakeGateway.start();
    const dir = mkdtempSync(join(tmpdir(), "ss-agent-proc-"));
    try {
      const agent = await startAgentProcess(loadConfig(env(gw, dir)), silentLogger);
      const base = `http://127.0.0.1:${agent.healthPort}`;
      assert.equal((await fetch(`${base}/health`)).status, 200);
      const s1 = await gw.nextStream();
      assert.equal((await fetch(`${base}/ready`)).status, 503, "not ready before Welcome");
      s1.send({
        payload: {
          case: "welcome",
          value: { pod: "p1", approved: true, heartbeatInterval: durationFromMs(200) },
        },
      });
      await eventuallyFound(async () => (await fetch(`${base}/ready`)).status === 200, {
        what: "ready",
      });
      s1.send({ payload: { case: "credentialIssued", value: { credential: "cred-new" } } });
      s1.send({
        payload: {
          case: "command",
          value: {
            commandId: "start-1",
            deadline: timestampFromMs(Date.now() + WAIT.long),
            action: {
              case: "startSession",
              value: {
                sessionId: "sess-1",
                ownerId: "u",
                template: { name: "demo", image: "builtin:demo" },
              },
            },
          },
        },
      });
      const res = await s1.waitFor(resultOf("start-1"), WAIT.long);
      assert.ok(
        res.payload.case === "commandResult" && res.payload.value.success,
        JSON.stringify(res.payload.value),
      );
      const endpoint =
        res.payload.case === "commandResult" ? (res.payload.value.session?.vncEndpoint ?? "") : "";
      const port = Number(endpoint.split(":")[1]);
      using viewer = await RfbClient.connect(port);
      viewer.requestUpdate(false);
      await viewer.nextUpdate(WAIT.medium);
      assert.equal(readFileSync(join(dir, "credential"), "utf8"), "cred-new");
      await agent.stop();

      const record = JSON.parse(readFileSync(join(dir, "sessions", "sess-1.json"), "utf8")) as {
        pgid: number;
      };
      assert.ok(groupMembers(record.pgid).length > 0, "the session outlives the agent");
      const again = await startAgentProcess(
        loadConfig(env(gw, dir, { AGENT_STOP_SESSIONS_ON_EXIT: "true" })),
        silentLogger,
      );
      const s2 = await gw.nextStream();
      assert.equal(s2.headers.get("authorization"), "Bearer cred-new");
      const hello = await s2.waitFor((m) => m.payload.case === "hello");
      assert.ok(hello.payload.case === "hello");
      assert.deepEqual(
        hello.payload.value.sessions.map((s) => [s.sessionId, s.state, s.vncEndpoint]),
        [["sess-1", SessionState.RUNNING, endpoint]],
      );
      await again.stop();
      assert.deepEqual(
        groupMembers(record.pgid),
        [],
        "AGENT_STOP_SESSIONS_ON_EXIT stops the desktops",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the health port listens on loopback unless AGENT_HEALTH_HOST opens it", async () => {
    await using gw = await FakeGateway.start();
    const dir = mkdtempSync(join(tmpdir(), "ss-agent-host-"));
    try {
      const { AGENT_HEALTH_HOST: _, ...loopback } = env(gw, dir);
      for (const [e, want] of [
        [loopback, "127.0.0.1"],
        // Tests listen on loopback only; 127.0.0.2 stands in for an operator's address.
        [{ ...loopback, AGENT_HEALTH_HOST: "127.0.0.2" }, "127.0.0.2"],
      ] as const) {
        const agent = await startAgentProcess(loadConfig(e), silentLogger);
        try {
          assert.deepEqual(listeningAddresses(agent.healthPort), [want]);
          const res = await fetch(`http://${want}:${agent.healthPort}/metrics`);
          assert.equal(res.status, 200);
          assert.match(await res.text(), /process_cpu_user_seconds_total/);
        } finally {
          await agent.stop();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("with ENABLE_HA only the leader dials; the follower takes over when it stops", async () => {
    await using gw = await FakeGateway.start();
    const dir = mkdtempSync(join(tmpdir(), "ss-agent-ha-"));
    try {
      const ha = {
        ENABLE_HA: "true",
        HA_BACKEND: "file",
        HA_LEASE_FILE: join(dir, "lease"),
        LEASE_DURATION: "800ms",
        RENEW_DEADLINE: "500ms",
        RETRY_PERIOD: "100ms",
      };
      const a = await startAgentProcess(loadConfig(env(gw, join(dir, "a"), ha)), silentLogger);
      await gw.nextStream();
      const b = await startAgentProcess(loadConfig(env(gw, join(dir, "b"), ha)), silentLogger);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(gw.streams.length, 1, "the follower does not dial");
      await a.stop();
      await gw.nextStream();
      await b.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("main.ts exits 2 with one line on bad config, and 0 on SIGTERM", async () => {
    await using gw = await FakeGateway.start();
    const dir = mkdtempSync(join(tmpdir(), "ss-agent-main-"));
    const main = fileURLToPath(new URL("./main.ts", import.meta.url));
    const run = (e: Record<string, string>) =>
      spawn(process.execPath, ["--import", "tsx", main], {
        env: { PATH: process.env.PATH ?? "", ...e },
        stdio: ["ignore", "ignore", "pipe"],
      });
    try {
      const bad = run({ AGENT_ID: "x", CONTROL_PLANE_URL: gw.url, MAX_SESSIONS: "-1" });
      let err = "";
      bad.stderr.on("data", (d) => {
        err += d;
      });
      const code = await new Promise((r) => bad.on("exit", r));
      assert.equal(code, 2);
      assert.equal(
        err,
        'agent: MAX_SESSIONS="-1" is not valid: expected an integer from 1 to 100000.\n',
      );

      // HA_BACKEND=swarm (named by the seeds for Docker agents) is not built: one line, no dial.
      const swarm = run({ ...env(gw, dir), ENABLE_HA: "true", HA_BACKEND: "swarm" });
      let swarmErr = "";
      swarm.stderr.on("data", (d) => {
        swarmErr += d;
      });
      assert.equal(await new Promise((r) => swarm.on("exit", r)), 2);
      assert.match(
        swarmErr,
        /^agent: HA_BACKEND="swarm" is not valid: .*HA_BACKEND=swarm is not built/,
      );
      assert.equal(swarmErr.split("\n").length, 2, "one line");
      assert.equal(gw.streams.length, 0, "an agent refused at start never dials");

      const good = run(env(gw, dir));
      const exited = new Promise((r) => good.on("exit", r));
      await gw.nextStream(WAIT.long);
      good.kill("SIGTERM");
      const timer = setTimeout(() => good.kill("SIGKILL"), WAIT.medium);
      assert.equal(await exited, 0);
      clearTimeout(timer);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
