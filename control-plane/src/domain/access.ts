/**
 * Who may touch what, in one place (DESIGN.md §3.5). Another user's session answers NOT_FOUND,
 * not PERMISSION_DENIED: telling a stranger "that id exists but is not yours" would leak which
 * ids exist. Role-gated operations answer PERMISSION_DENIED, since the operation itself is public.
 */
import { DomainError, permissionDenied } from "./errors.ts";
import { hasRole, type Principal, type Role } from "./principal.ts";
import type { Session } from "./types.ts";

/** A signed-in principal, as the narrowed type. */
export type UserPrincipal = Extract<Principal, { kind: "user" }>;

/** Throws unauthenticated for anonymous callers. */
export function requireUser(p: Principal): UserPrincipal {
  if (p.kind !== "user") {
    throw new DomainError(
      "unauthenticated",
      "Sign in first: send 'authorization: Bearer <access token or API key>'.",
    );
  }
  return p;
}

/** Throws unless the caller holds the role (after requiring a sign-in). */
export function requireRole(p: Principal, role: Role, what: string): UserPrincipal {
  const u = requireUser(p);
  if (!hasRole(u, role)) {
    throw permissionDenied(`Only ${role}s and above can ${what}; ask an admin for the role.`);
  }
  return u;
}

/** Users see their own sessions; operators and admins see all. */
export function canSeeSession(p: UserPrincipal, s: Pick<Session, "ownerId">): boolean {
  return s.ownerId === p.userId || hasRole(p, "operator");
}

/** The NOT_FOUND a caller gets for a missing or foreign session (same words for both). */
export function sessionNotFound(id: string): DomainError {
  return new DomainError(
    "not_found",
    `Session ${id} does not exist or is not yours; ListSessions shows the sessions you can use.`,
  );
}
