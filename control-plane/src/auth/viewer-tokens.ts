/**
 * Viewer and relay tokens (proto/TOKENS.md): EdDSA JWTs a relay verifies with the public key
 * alone. Viewer tokens live 60 s and carry a random jti the relay remembers, so each is
 * single-use; relay tokens live 1 h and ride on every Welcome/RingUpdate. The claims format
 * and its constants are defined once, in @streamspace/common/viewer-token, which the relay
 * verifies with.
 */
import { randomUUID } from "node:crypto";
import {
  RELAY_AUDIENCE,
  RELAY_READ_AUDIENCE,
  RELAY_TOKEN_TTL_S,
  TOKEN_ALGORITHM,
  TOKEN_ISSUER,
  VIEWER_AUDIENCE,
  VIEWER_TOKEN_TTL_S,
  type ViewerClaims,
  viewerClaimsOf,
  viewerVerifyOptions,
} from "@streamspace/common/viewer-token";
import { createLocalJWKSet, errors, jwtVerify, SignJWT } from "jose";
import { unauthenticated } from "../domain/errors.ts";
import type { Jwks, SigningKeys } from "./signing-keys.ts";

export { RELAY_AUDIENCE, VIEWER_AUDIENCE, type ViewerClaims };

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
  /** The control plane's own token for reading relays' per-session activity (5 minutes). */
  signRelayReadToken(pod: string): Promise<SignedToken>;
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
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: keys.kid, typ: "JWT" })
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
    signRelayReadToken: (pod) => sign({}, pod, RELAY_READ_AUDIENCE, 300),
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
    const { payload } = await jwtVerify(
      token,
      createLocalJWKSet(jwks),
      viewerVerifyOptions(new Date((opts.now ?? Date.now)())),
    );
    const claims = viewerClaimsOf(payload);
    if (!claims) {
      throw unauthenticated("The viewer token lacks required claims; ask for a new viewer token.");
    }
    if (opts.sessionId !== undefined && claims.sid !== opts.sessionId) {
      throw unauthenticated("The viewer token is for another session; ask for a new viewer token.");
    }
    return claims;
  } catch (err) {
    if (err instanceof Error && err.name === "DomainError") throw err;
    if (err instanceof errors.JWTExpired) {
      throw unauthenticated("The viewer token expired; ask for a new viewer token.");
    }
    throw unauthenticated("The viewer token is not valid; ask for a new viewer token.");
  }
}
