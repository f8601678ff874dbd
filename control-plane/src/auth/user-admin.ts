/**
 * User management for admins: create, list, disable, enable, set role, reset password;
 * operators may list (they need to tell whose sessions they look at). The one invariant it
 * guards beyond "admins only" is that the deployment always keeps an enabled admin, even when
 * two admins demote each other at the same moment (the admin rows are locked first).
 */
import {
  DomainError,
  failedPrecondition,
  notFound,
  permissionDenied,
  unauthenticated,
} from "../domain/errors.ts";
import { hasRole, type Principal, type Role } from "../domain/principal.ts";
import { type AuthUser, toAuthUser } from "./auth-core.ts";
import type { AuthRepos, AuthStore, UserRecord } from "./auth-ports.ts";
import {
  createUserInput,
  idInput,
  listUsersInput,
  parseInput,
  resetPasswordInput,
  setRoleInput,
} from "./auth-validation.ts";
import { DEFAULT_SCRYPT, hashPassword, type ScryptParams } from "./passwords.ts";

/**
 * What UserAdmin needs; `onDisabled` revokes the user's refresh tokens (AuthCore), after a
 * disable and after a password reset alike: both must end every sign-in the user holds.
 */
export interface UserAdminDeps {
  store: AuthStore;
  scrypt?: ScryptParams;
  now?: () => number;
  onDisabled?: (userId: string) => Promise<void>;
}

const LAST_ADMIN =
  "This is the last enabled admin; make another user an admin first, so the deployment keeps one.";

function requireAdmin(p: Principal): void {
  if (p.kind !== "user") {
    throw unauthenticated("Sign in first: send 'authorization: Bearer <access token or API key>'.");
  }
  if (!hasRole(p, "admin")) throw permissionDenied("Only admins can manage users.");
}

/** Reading the user list is for operators too: sessions name their owner by id. */
function requireOperator(p: Principal): void {
  if (p.kind !== "user") {
    throw unauthenticated("Sign in first: send 'authorization: Bearer <access token or API key>'.");
  }
  if (!hasRole(p, "operator")) {
    throw permissionDenied("Only operators and admins can list users; ask an admin for the role.");
  }
}

/** Admin-only user operations, shared by the Connect UserService and the tRPC router. */
export class UserAdmin {
  readonly #store: AuthStore;
  readonly #scrypt: ScryptParams;
  readonly #now: () => number;
  readonly #onDisabled: (userId: string) => Promise<void>;

  constructor(deps: UserAdminDeps) {
    this.#store = deps.store;
    this.#scrypt = deps.scrypt ?? DEFAULT_SCRYPT;
    this.#now = deps.now ?? Date.now;
    this.#onDisabled = deps.onDisabled ?? (async () => {});
  }

  async createUser(
    principal: Principal,
    input: { username: string; password: string; displayName: string; role: Role | undefined },
  ): Promise<AuthUser> {
    requireAdmin(principal);
    const v = parseInput(createUserInput, input);
    const passwordHash = await hashPassword(v.password, this.#scrypt);
    const row = await this.#store.users
      .insert({
        username: v.username,
        displayName: v.displayName || v.username,
        role: v.role,
        passwordHash,
        createdAt: new Date(this.#now()),
      })
      .catch((err: unknown) => {
        throw new Error("insert user", { cause: err });
      });
    if (!row) {
      throw new DomainError(
        "already_exists",
        `A user named "${v.username}" already exists; choose another username.`,
      );
    }
    return toAuthUser(row);
  }

  /** Users ordered by username; the page token is the last username seen (opaque to callers). */
  async listUsers(
    principal: Principal,
    input: { pageSize: number; pageToken: string },
  ): Promise<{ users: AuthUser[]; nextPageToken: string }> {
    requireOperator(principal);
    const { pageSize, pageToken } = parseInput(listUsersInput, input);
    const limit = pageSize || 50;
    let after = "";
    if (pageToken) {
      after = Buffer.from(pageToken, "base64url").toString("utf8");
      if (!after.startsWith("u:")) {
        throw new DomainError(
          "invalid_argument",
          "page_token is not a page token from a previous ListUsers response.",
        );
      }
    }
    const rows = await this.#store.users.list(limit + 1, after ? after.slice(2) : undefined);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextPageToken =
      rows.length > limit && last ? Buffer.from(`u:${last.username}`).toString("base64url") : "";
    return { users: page.map(toAuthUser), nextPageToken };
  }

  async disableUser(principal: Principal, input: { id: string }): Promise<AuthUser> {
    requireAdmin(principal);
    const { id } = parseInput(idInput, input);
    const user = await this.#store.transaction(async (tx) => {
      const target = await this.#load(tx, id);
      if (target.role === "admin" && !target.disabled) await this.#ensureAnotherAdmin(tx, id);
      return this.#updated(await tx.users.update(id, { disabled: true }), id);
    });
    await this.#onDisabled(id);
    return toAuthUser(user);
  }

  async enableUser(principal: Principal, input: { id: string }): Promise<AuthUser> {
    requireAdmin(principal);
    const { id } = parseInput(idInput, input);
    // Enabling also lifts a sign-in pause (auth/login-throttle.ts): it is the admin's unlock.
    const row = await this.#store.users.update(id, {
      disabled: false,
      failedLogins: 0,
      lockedUntil: null,
    });
    if (!row) throw notFound(`No user with id ${id}; list users with ListUsers.`);
    return toAuthUser(row);
  }

  async setUserRole(
    principal: Principal,
    input: { id: string; role: Role | undefined },
  ): Promise<AuthUser> {
    requireAdmin(principal);
    const { id, role } = parseInput(setRoleInput, input);
    const row = await this.#store.transaction(async (tx) => {
      const target = await this.#load(tx, id);
      if (target.role === "admin" && role !== "admin" && !target.disabled) {
        await this.#ensureAnotherAdmin(tx, id);
      }
      return this.#updated(await tx.users.update(id, { role }), id);
    });
    return toAuthUser(row);
  }

  /**
   * Sets a new password chosen by an admin. It also lifts a sign-in pause (the reset is the
   * usual answer to "I am locked out") and ends every sign-in the user holds, since a reset
   * usually means the old password may be known to someone else.
   */
  async resetPassword(principal: Principal, input: { id: string; password: string }) {
    requireAdmin(principal);
    const { id, password } = parseInput(resetPasswordInput, input);
    const passwordHash = await hashPassword(password, this.#scrypt);
    const row = await this.#store.users.update(id, {
      passwordHash,
      failedLogins: 0,
      lockedUntil: null,
    });
    if (!row) throw notFound(`No user with id ${id}; list users with ListUsers.`);
    await this.#onDisabled(id);
    return toAuthUser(row);
  }

  async #load(tx: AuthRepos, id: string): Promise<UserRecord> {
    const row = await tx.users.get(id);
    if (!row) throw notFound(`No user with id ${id}; list users with ListUsers.`);
    return row;
  }

  /** The row an update inside the transaction returned; it was loaded a moment ago. */
  #updated(row: UserRecord | undefined, id: string): UserRecord {
    if (!row) throw new Error(`update user ${id}: the row vanished inside its transaction`);
    return row;
  }

  /** Locks every enabled admin row, so concurrent demotions serialise and one of them fails. */
  async #ensureAnotherAdmin(tx: AuthRepos, exceptId: string): Promise<void> {
    const admins = await tx.users.lockEnabledAdmins();
    if (!admins.some((a) => a !== exceptId)) throw failedPrecondition(LAST_ADMIN);
  }
}
