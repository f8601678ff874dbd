/**
 * Shared pieces of the AuthService and UserService handlers, kept apart so the two handler
 * files do not import each other (dependency-cruiser forbids cycles).
 */
import type { AuthCore } from "../auth/auth-core.ts";
import type { UserAdmin } from "../auth/user-admin.ts";

/** What the auth handlers need; the composition root builds these once per process. */
export interface AuthServiceDeps {
  auth: AuthCore;
  users: UserAdmin;
  /** Where unexpected errors go; the caller only ever sees a generic Internal message. */
  log?: (msg: string, err: unknown) => void;
}

/**
 * The auth handlers run their bodies and log unexpected errors exactly as the core handlers do
 * (one error table, causes logged and never sent).
 */
export { guard as guarded, stderrLog as defaultLog } from "./handler-kit.ts";
