/**
 * Access tokens: HS256 JWTs signed with JWT_SECRET, 15 minutes (proto/TOKENS.md). They are
 * verified without a database hop; revocation (logout) is checked separately against the
 * RevocationStore because a JWT cannot be recalled.
 */
import { randomUUID } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { type DomainError, unauthenticated } from "../domain/errors.ts";
import type { Role } from "../domain/principal.ts";

/** Access-token lifetime: short, so a leaked token is worth little and revocations stay small. */
export const ACCESS_TOKEN_TTL_MS = 15 * 60 * 1000;

/** The claims the rest of the auth code reads out of a verified access token. */
export interface AccessClaims {
  userId: string;
  role: Role;
  jti: string;
  expiresAt: Date;
}

/** Shown for an expired access token; it tells the caller exactly which call recovers. */
export const EXPIRED_MESSAGE =
  "Your access token expired; call AuthService.Refresh or sign in again.";
const INVALID_MESSAGE =
  "The access token is not valid (malformed, tampered with or signed by another deployment); sign in again.";

const ROLES = new Set<string>(["user", "operator", "admin"]);

/** Signs and verifies access tokens; the clock is injected so tests can expire tokens. */
export class AccessTokens {
  readonly #key: Uint8Array;
  readonly #now: () => number;

  constructor(secret: string, now: () => number = Date.now) {
    if (Buffer.byteLength(secret) < 32) {
      throw new Error(
        "JWT_SECRET must be at least 32 bytes so HS256 tokens cannot be brute-forced.",
      );
    }
    this.#key = new TextEncoder().encode(secret);
    this.#now = now;
  }

  /** Mints a token for the user; the returned jti is what logout revokes. */
  async sign(userId: string, role: Role): Promise<{ token: string; claims: AccessClaims }> {
    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + ACCESS_TOKEN_TTL_MS / 1000;
    const jti = randomUUID();
    const token = await new SignJWT({ role })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(userId)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, claims: { userId, role, jti, expiresAt: new Date(exp * 1000) } };
  }

  /** Verifies signature, algorithm and expiry; every failure is an Unauthenticated DomainError. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: ["HS256"],
        currentDate: new Date(this.#now()),
        requiredClaims: ["sub", "jti", "exp"],
      });
      const role = payload.role;
      if (typeof role !== "string" || !ROLES.has(role) || !payload.sub || !payload.jti) {
        throw unauthenticated(INVALID_MESSAGE);
      }
      return {
        userId: payload.sub,
        role: role as Role,
        jti: payload.jti,
        expiresAt: new Date((payload.exp ?? 0) * 1000),
      };
    } catch (err) {
      throw toAuthError(err);
    }
  }
}

function toAuthError(err: unknown): DomainError {
  if (err instanceof errors.JWTExpired) return unauthenticated(EXPIRED_MESSAGE);
  if (err instanceof Error && err.name === "DomainError") return err as DomainError;
  return unauthenticated(INVALID_MESSAGE);
}
