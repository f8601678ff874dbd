/**
 * What broke: a desktop running when the person pressed Ctrl-C on `npm start` came back
 * "Failed: the agent reconnected without this session; it was lost", because the agent closed
 * its stream before stopping the desktops and the next Hello simply lacked them. Guarded here:
 * a clean stop reports each desktop stopped ("stopped with the system") before the stream
 * closes, or in the next Hello when the control plane could not hear it; a restarted agent
 * reports a desktop that died meanwhile as stopped with a reason, next to the live ones it
 * adopts. Real processes: the local driver's built-in VNC server, a real agent process for the
 * signal path.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { silentLogger } from "@streamspace/common/log";
import { eventually, WAIT } from "@streamspace/common/testing";
import type { AgentMessage } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { STOPPED_WITH_THE_SYSTEM, startAgentProcess } from "../agent-process.ts";
import { loadConfig } from "../config.ts";
import { ENDED_WHILE_AWAY } from "../drivers/local/local-driver.ts";
import { groupMembers, signalGroup } from "../drivers/local/process-group.ts";
import { FakeGateway, type FakeStream } from "../testing/fake-gateway.ts";

function env(url: string, dataDir: string, extra: Record<string, string> = {}) {
  return {
    AGENT_ID: "agent-stop",
    CONTROL_PLANE_URL: url,
    AGENT_DATA_DIR: dataDir,
    AGENT_HEALTH_PORT: "0",
    AGENT_HEALTH_HOST: "127.0.0.1",
    AGENT_BOOTSTRAP_TOKEN: "boot",
    ...extra,
  };
}

const STOP_ON_EXIT = { AGENT_STOP_SESSIONS_ON_EXIT: "true" };

function welcome(s: FakeStream): void {
  s.send({
    payload: {
      case: "welcome",
      value: { pod: "p1", approved: true, heartbeatInterval: durationFromMs(1_000) },
    },
  });
}

/** Starts a built-in desktop through a StartSession command; returns its process group. */
async function startDesktop(s: FakeStream, dataDir: string, sessionId: string): Promise<number> {
  const commandId = `start-${sessionId}`;
  s.send({
    payload: {
      case: "command",
      value: {
        commandId,
        deadline: timestampFromMs(Date.now() + WAIT.long),
        action: {
          case: "startSession",
          value: { sessionId, ownerId: "u", template: { name: "demo", image: "builtin:demo" } },
        },
      },
    },
  });
  const res = await s.waitFor(
    (m) => m.payload.case === "commandResult" && m.payload.value.commandId === commandId,
    WAIT.long,
  );
  assert.ok(
    res.payload.case === "commandResult" && res.payload.value.success,
    JSON.stringify(res.payload.value),
  );
  const rec = JSON.parse(readFileSync(join(dataDir, "sessions", `${sessionId}.json`), "utf8"));
  assert.ok(groupMembers(rec.pgid).length > 0);
  return rec.pgid as number;
}

/** [id, state, reason] of every SessionEvent the stream carried. */
const events = (s: FakeStream) =>
  s.received.flatMap((m): [string, SessionState, string][] =>
    m.payload.case === "sessionEvent" && m.payload.value.session
      ? [
          [
            m.payload.value.session.sessionId,
            m.payload.value.session.state,
            m.payload.value.session.reason,
          ],
        ]
      : [],
  );

/** [id, state, reason] of every session in the stream's Hello, by id. */
async function hello(s: FakeStream): Promise<[string, SessionState, string][]> {
  const m: AgentMessage = await s.waitFor((x) => x.payload.case === "hello", WAIT.long);
  assert.ok(m.payload.case === "hello");
  return m.payload.value.sessions
    .map((r): [string, SessionState, string] => [r.sessionId, r.state, r.reason])
    .sort((a, b) => a[0].localeCompare(b[0]));
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ss-agent-stop-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An in-process agent whose stop runs once, from the test or on disposal after a failure. */
async function agentProcess(e: Record<string, string>) {
  const agent = await startAgentProcess(loadConfig(e), silentLogger);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= agent.stop();
    return stopped;
  };
  return { stop, [Symbol.asyncDispose]: stop };
}

describe("regression: a clean stop left desktops to come back as lost", () => {
  test("a clean stop reports each desktop stopped with the system before the stream closes", async () => {
    await withDir(async (dir) => {
      await using gw = await FakeGateway.start();
      await using agent = await agentProcess(env(gw.url, dir, STOP_ON_EXIT));
      let pgids: number[] = [];
      try {
        const s = await gw.nextStream();
        welcome(s);
        pgids = [await startDesktop(s, dir, "desk-1"), await startDesktop(s, dir, "desk-2")];
        await agent.stop();
        assert.deepEqual(
          events(s).sort((a, b) => a[0].localeCompare(b[0])),
          [
            ["desk-1", SessionState.STOPPED, STOPPED_WITH_THE_SYSTEM],
            ["desk-2", SessionState.STOPPED, STOPPED_WITH_THE_SYSTEM],
          ],
        );
        assert.ok(s.ended, "the agent closed its stream after reporting");
        for (const pgid of pgids) assert.deepEqual(groupMembers(pgid), [], "the desktop is gone");
        assert.ok(
          !existsSync(join(dir, "sessions", "desk-1.json")),
          "a confirmed ending leaves no record to repeat",
        );
      } finally {
        for (const pgid of pgids) signalGroup(pgid, "SIGKILL");
      }
    });
  });

  test("a clean stop the control plane cannot hear is reported by the next start", async () => {
    await withDir(async (dir) => {
      let pgid = 0;
      try {
        {
          await using gw = await FakeGateway.start();
          await using agent = await agentProcess(env(gw.url, dir, STOP_ON_EXIT));
          const s = await gw.nextStream();
          welcome(s);
          pgid = await startDesktop(s, dir, "desk-1");
          // The control plane goes first (Ctrl-C reaches every process at once).
          await gw.close();
          await agent.stop();
          assert.deepEqual(groupMembers(pgid), [], "the desktop is gone");
        }
        await using gw = await FakeGateway.start();
        await using _again = await agentProcess(env(gw.url, dir));
        const s = await gw.nextStream();
        assert.deepEqual(await hello(s), [
          ["desk-1", SessionState.STOPPED, STOPPED_WITH_THE_SYSTEM],
        ]);
        welcome(s);
        await eventually(() => !existsSync(join(dir, "sessions", "desk-1.json")), {
          what: "the ending forgotten after Welcome",
        });
      } finally {
        if (pgid) signalGroup(pgid, "SIGKILL");
      }
    });
  });

  test("a restarted agent adopts live desktops and reports one that died meanwhile as stopped", async () => {
    await withDir(async (dir) => {
      const pgids: number[] = [];
      try {
        await using gw = await FakeGateway.start();
        // Sessions outlive this agent (AGENT_STOP_SESSIONS_ON_EXIT is off).
        await using first = await agentProcess(env(gw.url, dir));
        const s1 = await gw.nextStream();
        welcome(s1);
        pgids.push(
          await startDesktop(s1, dir, "desk-live"),
          await startDesktop(s1, dir, "desk-dead"),
        );
        await first.stop();
        signalGroup(pgids[1] as number, "SIGKILL");
        await eventually(() => groupMembers(pgids[1] as number).length === 0, {
          what: "the desktop died while no agent ran",
        });

        await using _again = await agentProcess(env(gw.url, dir, STOP_ON_EXIT));
        const s2 = await gw.nextStream();
        assert.deepEqual(await hello(s2), [
          ["desk-dead", SessionState.STOPPED, ENDED_WHILE_AWAY],
          ["desk-live", SessionState.RUNNING, ""],
        ]);
        assert.ok(groupMembers(pgids[0] as number).length > 0, "the live desktop was adopted");
      } finally {
        for (const pgid of pgids) signalGroup(pgid, "SIGKILL");
      }
    });
  });

  test("SIGINT to a real agent process stops its desktops as stopped with the system, exit 0", async () => {
    await withDir(async (dir) => {
      await using gw = await FakeGateway.start();
      const main = fileURLToPath(new URL("../main.ts", import.meta.url));
      const agent = spawn(process.execPath, ["--import", "tsx", main], {
        env: { PATH: process.env.PATH ?? "", ...env(gw.url, dir, STOP_ON_EXIT) },
        stdio: ["ignore", "ignore", "ignore"],
      });
      const exited = new Promise<number | null>((r) => agent.on("exit", (code) => r(code)));
      let pgid = 0;
      try {
        const s = await gw.nextStream(WAIT.long);
        welcome(s);
        pgid = await startDesktop(s, dir, "desk-1");
        agent.kill("SIGINT");
        assert.equal(await exited, 0);
        assert.deepEqual(events(s), [["desk-1", SessionState.STOPPED, STOPPED_WITH_THE_SYSTEM]]);
        assert.deepEqual(groupMembers(pgid), [], "the desktop is gone");
      } finally {
        agent.kill("SIGKILL");
        if (pgid) signalGroup(pgid, "SIGKILL");
      }
    });
  });
});
