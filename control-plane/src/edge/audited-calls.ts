/**
 * Which calls of the public API change state and are therefore audited, in one table both
 * transports read: the Connect audit interceptor by method name, the tRPC audit middleware by
 * procedure path (mapped to the same method, so one call is one action whichever road it came
 * by). Every public method is either here or in READ_ONLY_METHODS; the authorization matrix
 * test fails on a method in neither, so a new RPC cannot slip by unaudited.
 */

/** Request (and, for creates, response) fields as both transports hand them over. */
type Fields = Record<string, unknown> | undefined;

/** How one audited call is named and what it is about. */
export interface AuditedCall {
  action: string;
  targetKind: string;
  /** The target's id or name, from the request (or the response, for what a call creates). */
  target(input: Fields, output: Fields): string;
  /** Extra facts worth keeping, never secrets. */
  detail?(input: Fields): Record<string, string>;
  /** Who an anonymous call turned out to be, from its answer (a login, a refresh). */
  actor?(output: Fields): string;
}

const str = (v: unknown) => (typeof v === "string" ? v : "");
const field =
  (name: string) =>
  (input: Fields): string =>
    str(input?.[name]);
const nested = (outer: string, inner: string) => (o: Fields) =>
  str((o?.[outer] as Fields)?.[inner]);

/** The `sub` claim of a JWT this server signed, or "". */
function subjectOf(jwt: string): string {
  try {
    const claims = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString());
    return typeof claims.sub === "string" ? claims.sub : "";
  } catch {
    return "";
  }
}

const byId = (action: string, targetKind: string): AuditedCall => ({
  action,
  targetKind,
  target: field("id"),
});

/** Audited Connect methods (`package.Service/Method`). */
export const AUDITED_CALLS: Readonly<Record<string, AuditedCall>> = {
  "streamspace.v1.AuthService/Login": {
    action: "auth.login",
    targetKind: "user",
    target: field("username"),
    actor: nested("user", "id"),
  },
  "streamspace.v1.AuthService/Refresh": {
    action: "auth.refresh",
    targetKind: "user",
    target: () => "",
    // Connect answers {tokens: {…}}, tRPC the token view itself; the new access token's
    // subject is the user (we just signed it, so reading it unverified is safe).
    actor: (o) => subjectOf(nested("tokens", "accessToken")(o) || str(o?.accessToken)),
  },
  "streamspace.v1.AuthService/Logout": {
    action: "auth.logout",
    targetKind: "user",
    target: () => "",
  },
  "streamspace.v1.AuthService/CreateApiKey": {
    action: "auth.api_key.create",
    targetKind: "api_key",
    target: (i, o) => nested("apiKey", "id")(o) || str(i?.name),
    detail: (i) => ({ name: str(i?.name) }),
  },
  "streamspace.v1.AuthService/RevokeApiKey": byId("auth.api_key.revoke", "api_key"),
  "streamspace.v1.UserService/CreateUser": {
    action: "user.create",
    targetKind: "user",
    target: (i, o) => nested("user", "id")(o) || str(i?.username),
    detail: (i) => ({ username: str(i?.username), role: String(i?.role ?? "") }),
  },
  "streamspace.v1.UserService/DisableUser": byId("user.disable", "user"),
  "streamspace.v1.UserService/EnableUser": byId("user.enable", "user"),
  "streamspace.v1.UserService/SetUserRole": {
    ...byId("user.set_role", "user"),
    detail: (i) => ({ role: String(i?.role ?? "") }),
  },
  // The new password is never part of the entry.
  "streamspace.v1.UserService/ResetUserPassword": byId("user.reset_password", "user"),
  "streamspace.v1.SessionService/CreateSession": {
    action: "session.create",
    targetKind: "session",
    // Connect answers {session: {id}}, tRPC the session view itself.
    target: (_i, o) => nested("session", "id")(o) || str(o?.id),
    detail: (i) => ({ template: str(i?.template) }),
  },
  "streamspace.v1.SessionService/StopSession": byId("session.stop", "session"),
  "streamspace.v1.SessionService/HibernateSession": byId("session.hibernate", "session"),
  "streamspace.v1.SessionService/WakeSession": byId("session.wake", "session"),
  "streamspace.v1.SessionService/DeleteSession": byId("session.delete", "session"),
  "streamspace.v1.SessionService/CreateViewerToken": {
    action: "session.viewer_token",
    targetKind: "session",
    target: field("sessionId"),
  },
  // Connect answers {template: {…}}, tRPC the template view itself; both requests carry it.
  "streamspace.v1.TemplateService/CreateTemplate": {
    action: "template.create",
    targetKind: "template",
    target: (i, o) =>
      nested("template", "name")(o) || str(o?.name) || nested("template", "name")(i),
  },
  "streamspace.v1.TemplateService/UpdateTemplate": {
    action: "template.update",
    targetKind: "template",
    target: (i, o) =>
      nested("template", "name")(o) || str(o?.name) || nested("template", "name")(i),
  },
  "streamspace.v1.TemplateService/DeleteTemplate": byId("template.delete", "template"),
  "streamspace.v1.AgentService/ApproveAgent": byId("agent.approve", "agent"),
  "streamspace.v1.AgentService/RevokeAgent": byId("agent.revoke", "agent"),
  "streamspace.v1.AgentService/DrainAgent": byId("agent.drain", "agent"),
  "streamspace.v1.AgentService/RotateAgentCredential": byId("agent.rotate_credential", "agent"),
};

/** Public methods that change nothing: not audited (reads would drown the log). */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  "streamspace.v1.AuthService/WhoAmI",
  "streamspace.v1.AuthService/ListApiKeys",
  "streamspace.v1.UserService/ListUsers",
  "streamspace.v1.SessionService/GetSession",
  "streamspace.v1.SessionService/ListSessions",
  "streamspace.v1.SessionService/WatchSessions",
  "streamspace.v1.TemplateService/GetTemplate",
  "streamspace.v1.TemplateService/ListTemplates",
  "streamspace.v1.AgentService/ListAgents",
  "streamspace.v1.AgentService/GetAgent",
  "streamspace.v1.AuditService/ListAuditEvents",
  "grpc.health.v1.Health/Check",
  "grpc.health.v1.Health/List",
  "grpc.health.v1.Health/Watch",
  "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
]);

/** tRPC mutations and the Connect method each one is (same action, same target rule). */
export const AUDITED_PROCEDURES: Readonly<Record<string, string>> = {
  "auth.login": "streamspace.v1.AuthService/Login",
  "auth.refresh": "streamspace.v1.AuthService/Refresh",
  "auth.logout": "streamspace.v1.AuthService/Logout",
  "sessions.create": "streamspace.v1.SessionService/CreateSession",
  "sessions.stop": "streamspace.v1.SessionService/StopSession",
  "sessions.hibernate": "streamspace.v1.SessionService/HibernateSession",
  "sessions.wake": "streamspace.v1.SessionService/WakeSession",
  "sessions.delete": "streamspace.v1.SessionService/DeleteSession",
  "sessions.viewerToken": "streamspace.v1.SessionService/CreateViewerToken",
  "apiKeys.create": "streamspace.v1.AuthService/CreateApiKey",
  "apiKeys.revoke": "streamspace.v1.AuthService/RevokeApiKey",
  "users.create": "streamspace.v1.UserService/CreateUser",
  "users.disable": "streamspace.v1.UserService/DisableUser",
  "users.enable": "streamspace.v1.UserService/EnableUser",
  "users.setRole": "streamspace.v1.UserService/SetUserRole",
  "users.resetPassword": "streamspace.v1.UserService/ResetUserPassword",
  "templates.create": "streamspace.v1.TemplateService/CreateTemplate",
  "templates.update": "streamspace.v1.TemplateService/UpdateTemplate",
  "templates.delete": "streamspace.v1.TemplateService/DeleteTemplate",
  "agents.approve": "streamspace.v1.AgentService/ApproveAgent",
  "agents.revoke": "streamspace.v1.AgentService/RevokeAgent",
  "agents.drain": "streamspace.v1.AgentService/DrainAgent",
};

/** The audited call for a Connect method or a tRPC procedure path, if it is one. */
export function auditedCall(methodOrPath: string): AuditedCall | undefined {
  const method = AUDITED_PROCEDURES[methodOrPath] ?? methodOrPath;
  return AUDITED_CALLS[method];
}

/** Connect's Code names (PermissionDenied) and tRPC-facing names, as the log's snake case. */
export function outcomeName(codeName: string): string {
  return codeName.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
