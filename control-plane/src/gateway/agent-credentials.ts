/**
 * Reading secrets off an agent's request. Credentials themselves (format, hash) belong to the
 * domain (domain/credentials.ts); this is only the header side.
 */
import { createHash, timingSafeEqual } from "node:crypto";

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
