/**
 * What both entry points (node.ts, web.ts) export besides `createStreamSpaceClient`: the
 * helpers, the error type and every generated message, enum and service of streamspace.v1.
 */
export type { ClientOptions, ListOptions, SessionFilter, StreamSpaceClient } from "./client.ts";
export type { TokenSet } from "./credentials.ts";
export { Code, type CodeName, isStreamSpaceError, StreamSpaceError } from "./errors.ts";
export * from "./gen/streamspace/v1/agent_service_pb.ts";
export * from "./gen/streamspace/v1/audit_service_pb.ts";
export * from "./gen/streamspace/v1/auth_service_pb.ts";
export * from "./gen/streamspace/v1/session_service_pb.ts";
export * from "./gen/streamspace/v1/template_service_pb.ts";
export * from "./gen/streamspace/v1/types_pb.ts";
export * from "./gen/streamspace/v1/user_service_pb.ts";
export type { RetryOptions } from "./interceptors.ts";
export { collect, type Page, paginate } from "./paginate.ts";
export type { SessionEvent, WatchSessionsOptions } from "./watch-sessions.ts";
