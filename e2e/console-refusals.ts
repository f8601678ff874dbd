/**
 * The staff-only calls of the console, each as the browser sends it (tRPC) and as a script
 * sends it (Connect, JSON form), so a test can check that a role the UI turns away is refused
 * by the server on both roads too, never only hidden.
 */
import assert from "node:assert/strict";
import { connectCall, trpcCall } from "./console-kit.ts";

/** One operation on both roads: tRPC path and input, Connect method and body. */
interface StaffCall {
  trpc: [kind: "query" | "mutation", path: string, input: unknown];
  connect: [method: string, body: unknown];
}

const EMPTY_TEMPLATE = {
  displayName: "",
  description: "",
  command: [],
  vncPort: 0,
  resources: { cpuMillis: 0, memoryBytes: 0 },
  env: {},
  idleTimeoutSeconds: 0,
  persistentHome: false,
  platform: "",
  region: "",
  requiredLabels: {},
};

/** Calls only admins may make (users, agents' trust, other people's keys). */
function adminOnly(adminId: string): StaffCall[] {
  const user = "streamspace.v1.UserService";
  return [
    {
      trpc: [
        "mutation",
        "users.create",
        { username: "x-nope", password: "long enough pw", displayName: "", role: "user" },
      ],
      connect: [
        `${user}/CreateUser`,
        { username: "x-nope", password: "long enough pw", role: "ROLE_USER" },
      ],
    },
    {
      trpc: ["mutation", "users.resetPassword", { id: adminId, password: "long enough pw" }],
      connect: [`${user}/ResetUserPassword`, { id: adminId, password: "long enough pw" }],
    },
    {
      trpc: ["mutation", "users.setRole", { id: adminId, role: "user" }],
      connect: [`${user}/SetUserRole`, { id: adminId, role: "ROLE_USER" }],
    },
    {
      trpc: ["mutation", "users.disable", { id: adminId }],
      connect: [`${user}/DisableUser`, { id: adminId }],
    },
    {
      trpc: ["mutation", "agents.approve", { id: "local-1" }],
      connect: ["streamspace.v1.AgentService/ApproveAgent", { id: "local-1" }],
    },
    {
      trpc: ["mutation", "agents.revoke", { id: "local-1" }],
      connect: ["streamspace.v1.AgentService/RevokeAgent", { id: "local-1" }],
    },
    {
      trpc: ["query", "apiKeys.list", { userId: adminId }],
      connect: ["streamspace.v1.AuthService/ListApiKeys", { userId: adminId }],
    },
  ];
}

/** Calls operators may make and users may not (reading the fleet, writing templates). */
const OPERATOR_UP: StaffCall[] = [
  {
    trpc: ["query", "users.list", { pageSize: 10, pageToken: "" }],
    connect: ["streamspace.v1.UserService/ListUsers", {}],
  },
  {
    trpc: ["query", "agents.list", {}],
    connect: ["streamspace.v1.AgentService/ListAgents", {}],
  },
  {
    trpc: [
      "mutation",
      "templates.create",
      { ...EMPTY_TEMPLATE, name: "x-nope", image: "builtin:demo" },
    ],
    connect: [
      "streamspace.v1.TemplateService/CreateTemplate",
      { template: { name: "x-nope", image: "builtin:demo" } },
    ],
  },
  {
    trpc: ["mutation", "templates.delete", { id: "demo-desktop" }],
    connect: ["streamspace.v1.TemplateService/DeleteTemplate", { id: "demo-desktop" }],
  },
];

/**
 * Asserts that every call above the caller's role is refused to `token`: FORBIDDEN (403) on
 * tRPC, permission_denied on Connect. `role` is what the token's user is.
 */
export async function assertStaffCallsRefused(
  url: string,
  token: string,
  role: "user" | "operator",
  adminId: string,
): Promise<void> {
  const calls = role === "operator" ? adminOnly(adminId) : [...adminOnly(adminId), ...OPERATOR_UP];
  for (const { trpc, connect } of calls) {
    const [kind, path, input] = trpc;
    const viaTrpc = await trpcCall(url, token, kind, path, input);
    assert.equal(viaTrpc.status, 403, `${role}: tRPC ${path} answered ${viaTrpc.status}`);
    const [method, body] = connect;
    const viaConnect = await connectCall(url, token, method, body);
    assert.equal(
      viaConnect.body.code,
      "permission_denied",
      `${role}: Connect ${method} answered ${JSON.stringify(viaConnect.body)}`,
    );
  }
}
