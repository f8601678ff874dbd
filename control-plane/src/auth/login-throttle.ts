/**
 * Brute-force brake for password sign-in. After FREE_FAILURES consecutive wrong passwords an
 * account refuses sign-ins for a while, doubling with each further failure up to MAX_LOCK_MS;
 * one good sign-in clears it, and so does an administrator enabling the account.
 *
 * Decisions: the count is per account (a username), kept on the users row so every pod agrees
 * without Redis. Per-account rather than per-client-address because the control plane usually
 * sits behind a balancer and sees its address, not the browser's. The price is that someone
 * who knows a username can keep that account locked, but only for MAX_LOCK_MS after their last
 * attempt, and API keys (what SDKs and scripts use) are not affected. While locked, the password
 * is not checked at all, so guesses made during a lock teach the guesser nothing.
 */
import type { Kysely } from "kysely";
import { DomainError } from "../domain/errors.ts";
import type { AuthTables, UserRow } from "./auth-schema.ts";

export const FREE_FAILURES = 5;
export const FIRST_LOCK_MS = 30_000;
export const MAX_LOCK_MS = 15 * 60_000;

/** How long the n-th consecutive failure locks the account (0 while still free). */
export function lockDurationMs(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(FIRST_LOCK_MS * 2 ** (failures - FREE_FAILURES), MAX_LOCK_MS);
}

/** Throws RESOURCE_EXHAUSTED with the wait when the account is locked at `now`. */
export function assertNotLocked(row: UserRow, now: number): void {
  const until = row.locked_until?.getTime() ?? 0;
  if (until <= now) return;
  const seconds = Math.ceil((until - now) / 1000);
  throw new DomainError(
    "resource_exhausted",
    `Too many wrong passwords for this account; sign-in is paused for ${seconds} s. ` +
      "Try again then, or ask an administrator to re-enable the account.",
  );
}

/** Counts one wrong password and sets the lock it earns. */
export async function recordFailure(
  db: Kysely<AuthTables>,
  userId: string,
  now: number,
): Promise<void> {
  const row = await db
    .updateTable("users")
    .set((eb) => ({ failed_logins: eb("failed_logins", "+", 1) }))
    .where("id", "=", userId)
    .returning("failed_logins")
    .executeTakeFirst();
  const lockMs = lockDurationMs(row?.failed_logins ?? 0);
  if (lockMs > 0) {
    await db
      .updateTable("users")
      .set({ locked_until: new Date(now + lockMs) })
      .where("id", "=", userId)
      .execute();
  }
}

/** Clears the count after a good sign-in; a no-op write is skipped. */
export async function clearFailures(db: Kysely<AuthTables>, row: UserRow): Promise<void> {
  if (row.failed_logins === 0 && row.locked_until === null) return;
  await db
    .updateTable("users")
    .set({ failed_logins: 0, locked_until: null })
    .where("id", "=", row.id)
    .execute();
}
