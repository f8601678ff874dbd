/**
 * HubMessage ⇄ streamspace.hub.v1.PodMessage bytes: what crosses Redis between pods is typed
 * by a proto like every other process boundary (DESIGN.md §2), never hand-written JSON.
 */
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { PodMessageSchema } from "@streamspace/proto/streamspace/hub/v1/hub_pb";
import type { HubMessage } from "../gateway/agent-hub.ts";

/** Encodes a hub message for PUBLISH. */
export function encodePodMessage(m: HubMessage): Uint8Array {
  let payload: MessageInitShape<typeof PodMessageSchema>["payload"];
  if (m.kind === "control") payload = { case: "control", value: m.message };
  else if (m.kind === "deliver") payload = { case: "deliver", value: {} };
  else payload = { case: "cut", value: { reason: m.reason } };
  return toBinary(PodMessageSchema, create(PodMessageSchema, { agentId: m.agentId, payload }));
}

/** Decodes a published message; undefined for bytes that are not a usable PodMessage. */
export function decodePodMessage(bytes: Uint8Array): HubMessage | undefined {
  let m: ReturnType<typeof fromBinary<typeof PodMessageSchema>>;
  try {
    m = fromBinary(PodMessageSchema, bytes);
  } catch {
    return undefined;
  }
  if (!m.agentId) return undefined;
  switch (m.payload.case) {
    case "control":
      return { kind: "control", agentId: m.agentId, message: m.payload.value };
    case "deliver":
      return { kind: "deliver", agentId: m.agentId };
    case "cut":
      return { kind: "cut", agentId: m.agentId, reason: m.payload.value.reason };
    default:
      return undefined;
  }
}
