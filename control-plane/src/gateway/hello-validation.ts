/**
 * Hello is untrusted input from the network: check it once, before anything is stored, and
 * say precisely what is wrong (DESIGN.md §3.7).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Hello } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import type { AgentHelloInfo } from "./agent-registry.ts";

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** An agent reporting more sessions than this is broken or hostile, not busy. */
export const MAX_INVENTORY = 10_000;
const MAX_LABELS = 64;

/** Throws INVALID_ARGUMENT for a malformed Hello; returns the part the store keeps. */
export function validateHello(hello: Hello): AgentHelloInfo {
  const bad = (msg: string) => new ConnectError(msg, Code.InvalidArgument);
  if (!AGENT_ID.test(hello.agentId)) {
    throw bad(
      "Hello.agent_id must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit.",
    );
  }
  if (hello.platform === Platform.UNSPECIFIED || !(hello.platform in Platform)) {
    throw bad("Hello.platform must be PLATFORM_LOCAL, PLATFORM_DOCKER or PLATFORM_KUBERNETES.");
  }
  if (hello.sessions.length > MAX_INVENTORY) {
    throw bad(
      `Hello carries ${hello.sessions.length} sessions; at most ${MAX_INVENTORY} are accepted.`,
    );
  }
  if (hello.completedCommandIds.length > MAX_INVENTORY) {
    throw bad(`Hello carries too many completed command ids; send at most ${MAX_INVENTORY}.`);
  }
  const texts = [
    hello.region,
    hello.version,
    ...Object.keys(hello.labels),
    ...Object.values(hello.labels),
  ];
  if (texts.some((t) => t.includes("\u0000"))) {
    throw bad(
      "Hello.region, Hello.version and Hello.labels must not contain NUL characters (U+0000).",
    );
  }
  const labels = Object.entries(hello.labels);
  if (labels.length > MAX_LABELS) throw bad(`Hello carries more than ${MAX_LABELS} labels.`);
  for (const [k, v] of labels) {
    if (k.length === 0 || k.length > 63 || v.length > 255) {
      throw bad(
        `Label "${k.slice(0, 63)}" is invalid: keys are 1-63 characters, values at most 255.`,
      );
    }
  }
  for (const s of hello.sessions) {
    if (!s.sessionId) throw bad("Every session in Hello.sessions needs a session_id.");
  }
  if (hello.region.length > 64 || hello.version.length > 64) {
    throw bad("Hello.region and Hello.version are at most 64 characters.");
  }
  const c = hello.capacity;
  if (
    c &&
    (c.maxSessions < 0 || c.activeSessions < 0 || c.maxCpuMillis < 0n || c.maxMemoryBytes < 0n)
  ) {
    throw bad("Hello.capacity values must not be negative.");
  }
  return {
    platform: hello.platform,
    region: hello.region,
    version: hello.version,
    capacity: {
      maxSessions: c?.maxSessions ?? 0,
      activeSessions: c?.activeSessions ?? 0,
      maxCpuMillis: c?.maxCpuMillis ?? 0n,
      maxMemoryBytes: c?.maxMemoryBytes ?? 0n,
    },
    labels: { ...hello.labels },
  };
}
