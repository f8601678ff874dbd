/**
 * A gateway on real Postgres plus scripted agents that behave like real ones for the lifecycle
 * regressions: they answer every command they are sent (hibernate → hibernated, wake →
 * running, stop → stopped), so a wrong follow-up command shows in the session's end state and
 * not only in a list of frames. One fixture per test file.
 */
import { create } from "@bufbuild/protobuf";
import {
  type Command,
  SessionReportSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { Platform, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { createPgGateway } from "../../app/pg-gateway.ts";
import { createStaticRelayRingSource } from "../../relay-ring/static-relay-ring-source.ts";
import { addTemplate, type CoreFixture, createCoreFixture, who } from "../../store/test-kit.ts";
import type { Gateway } from "../agent-gateway.ts";
import {
  eventually,
  type GatewayServer,
  ScriptedAgent,
  startGatewayServer,
} from "../gateway-test-kit.ts";

const BOOT = "boot";

/** Log lines the gateway wrote, for tests that check what it concluded. */
export interface LogLine {
  level: "info" | "warn" | "error";
  msg: string;
  fields?: Record<string, unknown>;
}

/** What the state a command leaves its session in, as a real agent reports it. */
const AFTER: Record<string, SessionState> = {
  startSession: SessionState.RUNNING,
  hibernateSession: SessionState.HIBERNATED,
  wakeSession: SessionState.RUNNING,
  stopSession: SessionState.STOPPED,
};

export interface AwayAgentFixture extends AsyncDisposable {
  f: CoreFixture;
  gw: Gateway;
  log: LogLine[];
  /** Dials with a Hello carrying `sessions` as the inventory; resolves after Welcome. */
  connect(
    agentId: string,
    sessions?: { sessionId: string; state: SessionState }[],
  ): Promise<ScriptedAgent>;
  /** A stream with the bootstrap header and nothing sent yet. */
  newAgent(): ScriptedAgent;
  /** Acks and answers one command the way a real agent that ran it would. */
  answer(a: ScriptedAgent, c: Command): void;
  /** Answers every command `a` has received and not answered yet; returns how many. */
  answerAll(a: ScriptedAgent): number;
  commandsFor(a: ScriptedAgent): Command[];
  /** Ends the stream abruptly and waits until the gateway no longer holds it. */
  drop(a: ScriptedAgent, agentId: string): Promise<void>;
  /** A running session of alice on `agentId` (created, started and reported running). */
  runningSession(a: ScriptedAgent): Promise<string>;
}

/** Starts the gateway on a fresh database with a `demo` template. */
export async function startAwayAgentFixture(): Promise<AwayAgentFixture> {
  const log: LogLine[] = [];
  const record = (level: LogLine["level"]) => (msg: string, fields?: Record<string, unknown>) => {
    log.push({ level, msg, fields });
  };
  let gw: Gateway | undefined;
  const f = await createCoreFixture({
    notifier: { commandsEnqueued: (id) => gw?.commandsEnqueued(id) },
  });
  gw = await createPgGateway({
    db: f.tdb.db,
    reports: f.reports,
    commands: f.store.commands,
    pod: "pod-a",
    ring: createStaticRelayRingSource([]),
    bootstrapToken: BOOT,
    autoApprove: true,
    dispatchSweepMs: 50,
    log: { info: record("info"), warn: record("warn"), error: record("error") },
  });
  const gateway = gw;
  const server: GatewayServer = await startGatewayServer(gateway);
  await addTemplate(f, "demo");
  const answered = new WeakMap<ScriptedAgent, Set<string>>();

  const commandsFor = (a: ScriptedAgent): Command[] =>
    a.received.flatMap((m) => (m.payload.case === "command" ? [m.payload.value] : []));
  const answer = (a: ScriptedAgent, c: Command) => {
    const done = answered.get(a) ?? new Set<string>();
    answered.set(a, done);
    if (done.has(c.commandId)) return;
    done.add(c.commandId);
    const sessionId = (c.action.value as { sessionId?: string } | undefined)?.sessionId ?? "";
    a.send({ case: "commandAck", value: { commandId: c.commandId } });
    a.send({
      case: "commandResult",
      value: {
        commandId: c.commandId,
        success: true,
        session: create(SessionReportSchema, {
          sessionId,
          state: AFTER[c.action.case ?? ""] ?? SessionState.UNSPECIFIED,
          vncEndpoint: "127.0.0.1:5901",
        }),
      },
    });
  };

  const close = async () => {
    await server.close();
    await f[Symbol.asyncDispose]();
  };
  return {
    f,
    gw: gateway,
    log,
    async connect(agentId, sessions = []) {
      const a = new ScriptedAgent(server.client, { "x-streamspace-bootstrap-token": BOOT });
      a.send({
        case: "hello",
        value: { agentId, platform: Platform.LOCAL, capacity: { maxSessions: 5 }, sessions },
      });
      await a.waitFor("welcome");
      return a;
    },
    newAgent: () => new ScriptedAgent(server.client, { "x-streamspace-bootstrap-token": BOOT }),
    answer,
    answerAll(a) {
      const open = commandsFor(a).filter((c) => !answered.get(a)?.has(c.commandId));
      for (const c of open) answer(a, c);
      return open.length;
    },
    commandsFor,
    async drop(a, agentId) {
      a.kill();
      await a.ended;
      await eventually(() => {
        if (gateway.connection(agentId)) throw new Error(`${agentId} still connected`);
      });
    },
    async runningSession(a) {
      const s = await f.sessions.create(who.alice, { template: "demo" });
      const start = await eventually(() => {
        const c = commandsFor(a).find(
          (x) => x.action.case === "startSession" && x.action.value.sessionId === s.id,
        );
        if (!c) throw new Error(`no StartSession for ${s.id}`);
        return c;
      });
      answer(a, start);
      await eventually(async () => {
        if ((await f.store.sessions.get(s.id))?.state !== "running") throw new Error("not running");
      });
      return s.id;
    },
    close,
    [Symbol.asyncDispose]: close,
  } as AwayAgentFixture & { close(): Promise<void> };
}
