/**
 * Agent credentials are opaque random strings; only their SHA-256 is stored, so a database
 * dump cannot impersonate an agent (proto/TOKENS.md).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const PREFIX = "ssa_";

/** A fresh credential, shown to the agent once. */
export function newAgentCredential(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}

/** The stored form of a credential; lookups go by this hash. */
export function hashAgentCredential(credential: string): string {
  return createHash("sha256").update(credential).digest("hex");
}

/** Constant-time string comparison, so the bootstrap token cannot be guessed byte by byte. */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Extracts the bearer token from an authorization header, or undefined. */
export function bearerToken(header: string | null): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
