/**
 * Domain records ⇄ generated proto messages. The domain needs this too (the outbox payload is a
 * binary streamspace.agent.v1.Command carrying the template), so it lives here and both
 * transports reuse it rather than each drifting its own copy.
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AgentSchema,
  CapacitySchema,
  type Agent as PbAgent,
  AgentState as PbAgentState,
  Platform as PbPlatform,
  type Session as PbSession,
  SessionState as PbSessionState,
  type Template as PbTemplate,
  ResourcesSchema,
  SessionSchema,
  TemplateSchema,
} from "@streamspace/proto/streamspace/v1/types_pb";
import type {
  Agent,
  AgentState,
  Platform,
  Session,
  SessionState,
  Template,
  TemplateInput,
} from "./types.ts";

const SESSION_STATE: Record<SessionState, PbSessionState> = {
  pending: PbSessionState.PENDING,
  scheduled: PbSessionState.SCHEDULED,
  starting: PbSessionState.STARTING,
  running: PbSessionState.RUNNING,
  hibernating: PbSessionState.HIBERNATING,
  hibernated: PbSessionState.HIBERNATED,
  waking: PbSessionState.WAKING,
  stopping: PbSessionState.STOPPING,
  stopped: PbSessionState.STOPPED,
  failed: PbSessionState.FAILED,
};

const AGENT_STATE: Record<AgentState, PbAgentState> = {
  pending: PbAgentState.PENDING,
  online: PbAgentState.ONLINE,
  offline: PbAgentState.OFFLINE,
  draining: PbAgentState.DRAINING,
  revoked: PbAgentState.REVOKED,
};

const PLATFORM: Record<Platform, PbPlatform> = {
  "": PbPlatform.UNSPECIFIED,
  local: PbPlatform.LOCAL,
  docker: PbPlatform.DOCKER,
  kubernetes: PbPlatform.KUBERNETES,
};

function invert<K extends string, V extends number>(m: Record<K, V>): Map<V, K> {
  return new Map(Object.entries(m).map(([k, v]) => [v as V, k as K]));
}
const SESSION_STATE_BACK = invert(SESSION_STATE);
const AGENT_STATE_BACK = invert(AGENT_STATE);
const PLATFORM_BACK = invert(PLATFORM);

/** Proto enum → domain state; unknown numbers map to undefined (the caller reports them). */
export const sessionStateFromProto = (s: PbSessionState) => SESSION_STATE_BACK.get(s);
export const agentStateFromProto = (s: PbAgentState) => AGENT_STATE_BACK.get(s);
export const platformFromProto = (p: PbPlatform) => PLATFORM_BACK.get(p);
export const platformToProto = (p: Platform) => PLATFORM[p];

/** The viewer path a browser opens for a session (DESIGN.md §5). */
export const viewerPath = (sessionId: string) => `/vnc/${sessionId}`;

/** Session record → wire message. */
export function sessionToProto(s: Session): PbSession {
  return create(SessionSchema, {
    id: s.id,
    ownerId: s.ownerId,
    templateId: s.templateId,
    agentId: s.agentId,
    state: SESSION_STATE[s.state],
    stateReason: s.stateReason,
    version: BigInt(s.version),
    displayName: s.displayName,
    resources: create(ResourcesSchema, s.resources),
    createTime: timestampFromDate(s.createTime),
    updateTime: timestampFromDate(s.updateTime),
    viewerPath: viewerPath(s.id),
  });
}

/** Template record → wire message (also embedded in StartSession). */
export function templateToProto(t: Template): PbTemplate {
  return create(TemplateSchema, {
    id: t.id,
    name: t.name,
    displayName: t.displayName,
    description: t.description,
    image: t.image,
    command: t.command,
    vncPort: t.vncPort,
    resources: create(ResourcesSchema, t.resources),
    env: t.env,
    idleTimeout: durationFromMs(t.idleTimeoutSeconds * 1000),
    persistentHome: t.persistentHome,
    platform: PLATFORM[t.platform],
    region: t.region,
    requiredLabels: t.requiredLabels,
    createTime: timestampFromDate(t.createTime),
    updateTime: timestampFromDate(t.updateTime),
  });
}

/**
 * Wire template → unvalidated input (validation.ts checks it next). An unknown platform number
 * becomes "?" so validation refuses it instead of silently meaning "any".
 */
export function templateInputFromProto(t: PbTemplate | undefined): Record<string, unknown> {
  if (!t) return {};
  const idle = t.idleTimeout;
  return {
    name: t.name,
    displayName: t.displayName,
    description: t.description,
    image: t.image,
    command: t.command,
    vncPort: t.vncPort,
    resources: {
      cpuMillis: t.resources?.cpuMillis ?? 0n,
      memoryBytes: t.resources?.memoryBytes ?? 0n,
    },
    env: t.env,
    idleTimeoutSeconds: idle ? Number(idle.seconds) + Math.round(idle.nanos / 1e9) : 0,
    persistentHome: t.persistentHome,
    platform: PLATFORM_BACK.get(t.platform) ?? "?",
    region: t.region,
    requiredLabels: t.requiredLabels,
  } satisfies Record<keyof TemplateInput, unknown>;
}

/** Agent record → wire message. */
export function agentToProto(a: Agent): PbAgent {
  return create(AgentSchema, {
    id: a.id,
    platform: PLATFORM[a.platform],
    region: a.region,
    version: a.version,
    state: AGENT_STATE[a.state],
    capacity: create(CapacitySchema, {
      maxSessions: a.maxSessions,
      activeSessions: a.activeSessions,
      maxCpuMillis: a.maxCpuMillis,
      maxMemoryBytes: a.maxMemoryBytes,
    }),
    labels: a.labels,
    pod: a.pod,
    lastHeartbeatTime: a.lastHeartbeatAt ? timestampFromDate(a.lastHeartbeatAt) : undefined,
    platformProblem: a.platformProblem,
    createTime: timestampFromDate(a.createdAt),
  });
}
