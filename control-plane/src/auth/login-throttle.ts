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
import { DomainError } from "../domain/errors.ts";
import type { UserRecord, UserRepo } from "./auth-ports.ts";

export const FREE_FAILURES = 5;
export const FIRST_LOCK_MS = 30_000;
export const MAX_LOCK_MS = 15 * 60_000;

/** How long the n-th consecutive failure locks the account (0 while still free). */
export function lockDurationMs(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(FIRST_LOCK_MS * 2 ** (failures - FREE_FAILURES), MAX_LOCK_MS);
}

/** Throws RESOURCE_EXHAUSTED with the wait when the account is locked at `now`. */
export function assertNotLocked(row: UserRecord, now: number): void {
  const until = row.lockedUntil?.getTime() ?? 0;
  if (until <= now) return;
  const seconds = Math.ceil((until - now) / 1000);
  throw new DomainError(
    "resource_exhausted",
    `Too many wrong passwords for this account; sign-in is paused for ${seconds} s. ` +
      "Try again then, or ask an administrator to re-enable the account.",
  );
}

/** Counts one wrong password and sets the lock it earns. */
export async function recordFailure(users: UserRepo, userId: string, now: number): Promise<void> {
  const lockMs = lockDurationMs(await users.countFailedLogin(userId));
  if (lockMs > 0) await users.update(userId, { lockedUntil: new Date(now + lockMs) });
}

/** Clears the count after a good sign-in; a no-op write is skipped. */
export async function clearFailures(users: UserRepo, row: UserRecord): Promise<void> {
  if (row.failedLogins === 0 && row.lockedUntil === null) return;
  await users.update(row.id, { failedLogins: 0, lockedUntil: null });
}
