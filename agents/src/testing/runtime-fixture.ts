/**
 * A runtime wired to a FakeGateway and a FakeDriver, and the control-side frames tests send, so
 * runtime tests read as the conversation they check. Disposable: `await using` stops the runtime.
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { silentLogger } from "@streamspace/common/log";
import type {
  AgentMessage,
  RelayRing,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { Platform, TemplateSchema } from "@streamspace/proto/streamspace/v1/types_pb";
import { AgentRuntime, type AgentRuntimeOptions } from "../runtime/agent-runtime.ts";
import type { FakeDriver } from "./fake-driver.ts";
import type { FakeGateway, FakeStream } from "./fake-gateway.ts";

/** A template every fake start uses. */
export const template = create(TemplateSchema, { id: "t1", name: "demo", image: "builtin:demo" });

/** Starts a runtime dialling `gw` with test-sized limits; `extra` overrides any option. */
export function makeRuntime(
  gw: FakeGateway,
  driver: FakeDriver,
  extra: Partial<AgentRuntimeOptions> = {},
) {
  const rt = new AgentRuntime({
    agentId: "agent-1",
    urls: [gw.url],
    platform: Platform.LOCAL,
    region: "eu-test",
    version: "0.1.0-test",
    labels: { gpu: "none" },
    maxSessions: 3,
    maxCpuMillis: 2000n,
    maxMemoryBytes: 4n << 30n,
    driver,
    log: silentLogger,
    credential: "cred-abc",
    backoff: { initialMs: 50, maxMs: 200 },
    ...extra,
  });
  rt.start();
  return {
    rt,
    async [Symbol.asyncDispose]() {
      await rt.stop(500);
    },
  };
}

/** Sends Welcome on `s` (approved, heartbeats every `heartbeatMs`). */
export function welcome(s: FakeStream, heartbeatMs = 50, ring?: RelayRing) {
  s.send({
    payload: {
      case: "welcome",
      value: { pod: "pod-a", approved: true, heartbeatInterval: durationFromMs(heartbeatMs), ring },
    },
  });
}

/** A StartSession command for `sessionId` with a deadline `deadlineMs` from now. */
export function startCommand(commandId: string, sessionId: string, deadlineMs = 10_000) {
  return {
    payload: {
      case: "command" as const,
      value: {
        commandId,
        deadline: timestampFromMs(Date.now() + deadlineMs),
        action: { case: "startSession" as const, value: { sessionId, ownerId: "u1", template } },
      },
    },
  };
}

/** Matches agent frames of one kind (and command id, for acks and results). */
export const is = (kind: AgentMessage["payload"]["case"], id?: string) => (m: AgentMessage) =>
  m.payload.case === kind &&
  (id === undefined || (m.payload.value as { commandId?: string } | undefined)?.commandId === id);
