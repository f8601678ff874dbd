/**
 * User management for admins: create, list, disable, enable, set role. The one invariant it
 * guards beyond "admins only" is that the deployment always keeps an enabled admin, even when
 * two admins demote each other at the same moment (the admin rows are locked first).
 */
import type { Kysely, Transaction } from "kysely";
import {
  DomainError,
  failedPrecondition,
  notFound,
  permissionDenied,
  unauthenticated,
} from "../domain/errors.ts";
import { hasRole, type Principal, type Role } from "../domain/principal.ts";
import { type AuthUser, toAuthUser } from "./auth-core.ts";
import type { AuthTables } from "./auth-schema.ts";
import {
  createUserInput,
  idInput,
  listUsersInput,
  parseInput,
  setRoleInput,
} from "./auth-validation.ts";
import { DEFAULT_SCRYPT, hashPassword, type ScryptParams } from "./passwords.ts";
import { isUniqueViolation } from "./tokens-util.ts";

/** What UserAdmin needs; `onDisabled` revokes the user's refresh tokens (AuthCore). */
export interface UserAdminDeps {
  db: Kysely<AuthTables>;
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

/** Admin-only user operations, shared by the Connect UserService and the tRPC router. */
export class UserAdmin {
  readonly #db: Kysely<AuthTables>;
  readonly #scrypt: ScryptParams;
  readonly #now: () => number;
  readonly #onDisabled: (userId: string) => Promise<void>;

  constructor(deps: UserAdminDeps) {
    this.#db = deps.db;
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
    try {
      const row = await this.#db
        .insertInto("users")
        .values({
          username: v.username,
          display_name: v.displayName || v.username,
          role: v.role,
          password_hash: passwordHash,
          created_at: new Date(this.#now()),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toAuthUser(row);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new DomainError(
          "already_exists",
          `A user named "${v.username}" already exists; choose another username.`,
        );
      }
      throw new Error("insert user", { cause: err });
    }
  }

  /** Users ordered by username; the page token is the last username seen (opaque to callers). */
  async listUsers(
    principal: Principal,
    input: { pageSize: number; pageToken: string },
  ): Promise<{ users: AuthUser[]; nextPageToken: string }> {
    requireAdmin(principal);
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
    let q = this.#db
      .selectFrom("users")
      .selectAll()
      .orderBy("username")
      .limit(limit + 1);
    if (after) q = q.where("username", ">", after.slice(2));
    const rows = await q.execute();
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextPageToken =
      rows.length > limit && last ? Buffer.from(`u:${last.username}`).toString("base64url") : "";
    return { users: page.map(toAuthUser), nextPageToken };
  }

  async disableUser(principal: Principal, input: { id: string }): Promise<AuthUser> {
    requireAdmin(principal);
    const { id } = parseInput(idInput, input);
    const user = await this.#db.transaction().execute(async (tx) => {
      const target = await this.#load(tx, id);
      if (target.role === "admin" && !target.disabled) await this.#ensureAnotherAdmin(tx, id);
      return tx
        .updateTable("users")
        .set({ disabled: true })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    await this.#onDisabled(id);
    return toAuthUser(user);
  }

  async enableUser(principal: Principal, input: { id: string }): Promise<AuthUser> {
    requireAdmin(principal);
    const { id } = parseInput(idInput, input);
    const row = await this.#db
      .updateTable("users")
      // Enabling also lifts a sign-in pause (auth/login-throttle.ts): it is the admin's unlock.
      .set({ disabled: false, failed_logins: 0, locked_until: null })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notFound(`No user with id ${id}; list users with ListUsers.`);
    return toAuthUser(row);
  }

  async setUserRole(
    principal: Principal,
    input: { id: string; role: Role | undefined },
  ): Promise<AuthUser> {
    requireAdmin(principal);
    const { id, role } = parseInput(setRoleInput, input);
    const row = await this.#db.transaction().execute(async (tx) => {
      const target = await this.#load(tx, id);
      if (target.role === "admin" && role !== "admin" && !target.disabled) {
        await this.#ensureAnotherAdmin(tx, id);
      }
      return tx
        .updateTable("users")
        .set({ role })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    return toAuthUser(row);
  }

  async #load(tx: Transaction<AuthTables>, id: string) {
    const row = await tx.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound(`No user with id ${id}; list users with ListUsers.`);
    return row;
  }

  /** Locks every enabled admin row, so concurrent demotions serialise and one of them fails. */
  async #ensureAnotherAdmin(tx: Transaction<AuthTables>, exceptId: string): Promise<void> {
    const admins = await tx
      .selectFrom("users")
      .select("id")
      .where("role", "=", "admin")
      .where("disabled", "=", false)
      .forUpdate()
      .execute();
    if (!admins.some((a) => a.id !== exceptId)) throw failedPrecondition(LAST_ADMIN);
  }
}
