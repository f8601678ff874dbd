/**
 * Who is asking. Every domain operation takes a Principal so ownership and role checks live in
 * the domain, once, for both transports.
 */
export type Role = "user" | "operator" | "admin";

export type Principal =
  | { kind: "anonymous" }
  | {
      kind: "user";
      userId: string;
      username: string;
      role: Role;
      /** How the caller proved who it is; API keys cannot mint new API keys, say. */
      via: "access_token" | "api_key";
      /** Access-token id, so logout can revoke exactly this token. */
      tokenId?: string;
      /** The API key used, when via is api_key: each key has its own request budget. */
      apiKeyId?: string;
    };

export const ANONYMOUS: Principal = { kind: "anonymous" };

const RANK: Record<Role, number> = { user: 1, operator: 2, admin: 3 };

/** True when the principal holds at least the given role. */
export function hasRole(p: Principal, role: Role): boolean {
  return p.kind === "user" && RANK[p.role] >= RANK[role];
}
