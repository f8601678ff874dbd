/**
 * Agent credentials: opaque random secrets shown once and stored only as a hash (TOKENS.md).
 * They carry 256 bits of entropy, so a plain SHA-256 is enough; a slow KDF (as for passwords)
 * would only cost CPU on every agent reconnect without adding safety.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A fresh agent credential, prefixed so leaked secrets are recognisable in scans. */
export function newAgentCredential(): string {
  return `ssa_${randomBytes(32).toString("base64url")}`;
}

/** The stored form of a credential. */
export function hashCredential(credential: string): string {
  return createHash("sha256").update(credential, "utf8").digest("hex");
}

/** Constant-time check of a presented credential against the stored hash. */
export function verifyCredential(
  credential: string,
  storedHash: string | null | undefined,
): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(hashCredential(credential), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
