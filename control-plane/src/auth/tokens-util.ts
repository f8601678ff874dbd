/**
 * Opaque secrets (refresh tokens, API keys): random, prefixed so a leaked one is recognisable
 * by secret scanners, and stored only as SHA-256. A hash lookup is enough for 256-bit random
 * secrets; scrypt is for low-entropy passwords.
 */
import { createHash, randomBytes } from "node:crypto";

/** A new secret such as `ssk_…` with 256 bits of randomness. */
export function newSecret(prefix: "ssk_" | "ssr_"): string {
  return prefix + randomBytes(32).toString("base64url");
}

/** The stored form of an opaque secret. */
export function sha256(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
