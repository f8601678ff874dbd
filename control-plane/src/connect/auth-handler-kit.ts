/**
 * Shared pieces of the AuthService and UserService handlers, kept apart so the two handler
 * files do not import each other (dependency-cruiser forbids cycles).
 */
import type { AuthCore } from "../auth/auth-core.ts";
import type { UserAdmin } from "../auth/user-admin.ts";
import { toConnectError } from "../edge/error-table.ts";

/** What the auth handlers need; app.ts builds these once per process. */
export interface AuthServiceDeps {
  auth: AuthCore;
  users: UserAdmin;
  /** Where unexpected errors go; the caller only ever sees a generic Internal message. */
  log?: (msg: string, err: unknown) => void;
}

/** The default sink for unexpected errors when app.ts passes no logger. */
export const defaultLog = (msg: string, err: unknown): void => console.error(msg, err);

/** Runs a handler body, mapping any failure through the error table (never leaking causes). */
export async function guarded<T>(
  log: (msg: string, err: unknown) => void,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toConnectError(err, log);
  }
}
