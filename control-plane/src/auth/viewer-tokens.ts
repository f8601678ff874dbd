/**
 * Viewer and relay tokens (proto/TOKENS.md): EdDSA JWTs a relay verifies with the public key
 * alone. Viewer tokens live 60 s and carry a random jti the relay remembers, so each is
 * single-use; relay tokens live 1 h and ride on every Welcome/RingUpdate.
 */
import { randomUUID } from "node:crypto";
import { createLocalJWKSet, errors, jwtVerify, SignJWT } from "jose";
import { unauthenticated } from "../domain/errors.ts";
import type { Jwks, SigningKeys } from "./signing-keys.ts";

export const TOKEN_ISSUER = "streamspace";
export const VIEWER_AUDIENCE = "streamspace-viewer";
export const RELAY_AUDIENCE = "streamspace-relay";
/** Long enough to open a WebSocket, short enough that a leaked URL is worthless a minute later. */
export const VIEWER_TOKEN_TTL_S = 60;
/** A fresh relay token rides on every Welcome and RingUpdate, so an hour never runs out. */
export const RELAY_TOKEN_TTL_S = 60 * 60;

/** A signed token and when it stops working (for the response's expire_time). */
export interface SignedToken {
  token: string;
  expiresAt: Date;
}

/** What SessionService.CreateViewerToken and the agent gateway need; tests fake it. */
export interface ViewerTokenSigner {
  signViewerToken(args: {
    userId: string;
    sessionId: string;
    agentId: string;
  }): Promise<SignedToken>;
  signRelayToken(agentId: string): Promise<SignedToken>;
}

/** Verified viewer-token claims, named as in TOKENS.md. */
export interface ViewerClaims {
  sub: string;
  sid: string;
  aid: string;
  jti: string;
  iat: number;
  exp: number;
}

/** Creates the signer from the deployment key; the clock is injected so tests can age tokens. */
export function createViewerTokenSigner(
  keys: SigningKeys,
  now: () => number = Date.now,
): ViewerTokenSigner {
  const sign = async (
    claims: Record<string, string>,
    sub: string,
    aud: string,
    ttlS: number,
    jti?: string,
  ): Promise<SignedToken> => {
    const iat = Math.floor(now() / 1000);
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid: keys.kid, typ: "JWT" })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlS);
    if (jti) jwt.setJti(jti);
    return { token: await jwt.sign(keys.privateKey), expiresAt: new Date((iat + ttlS) * 1000) };
  };
  return {
    signViewerToken: ({ userId, sessionId, agentId }) =>
      sign(
        { sid: sessionId, aid: agentId },
        userId,
        VIEWER_AUDIENCE,
        VIEWER_TOKEN_TTL_S,
        randomUUID(),
      ),
    signRelayToken: (agentId) => sign({}, agentId, RELAY_AUDIENCE, RELAY_TOKEN_TTL_S),
  };
}

/**
 * Verifies a viewer token against a JWKS the way a relay does (no single-use check: that state
 * lives in the relay). Used by tests and by the single-process relay path.
 */
export async function verifyViewerToken(
  token: string,
  jwks: Jwks,
  opts: { sessionId?: string; now?: () => number } = {},
): Promise<ViewerClaims> {
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: ["EdDSA"],
      issuer: TOKEN_ISSUER,
      audience: VIEWER_AUDIENCE,
      requiredClaims: ["sub", "sid", "aid", "jti", "iat", "exp"],
      currentDate: new Date((opts.now ?? Date.now)()),
    });
    const { sub, sid, aid, jti, iat, exp } = payload;
    if (
      typeof sub !== "string" ||
      typeof sid !== "string" ||
      typeof aid !== "string" ||
      typeof jti !== "string" ||
      typeof iat !== "number" ||
      typeof exp !== "number"
    ) {
      throw unauthenticated("The viewer token lacks required claims; ask for a new viewer token.");
    }
    if (opts.sessionId !== undefined && sid !== opts.sessionId) {
      throw unauthenticated("The viewer token is for another session; ask for a new viewer token.");
    }
    return { sub, sid, aid, jti, iat, exp };
  } catch (err) {
    if (err instanceof Error && err.name === "DomainError") throw err;
    if (err instanceof errors.JWTExpired) {
      throw unauthenticated("The viewer token expired; ask for a new viewer token.");
    }
    throw unauthenticated("The viewer token is not valid; ask for a new viewer token.");
  }
}
