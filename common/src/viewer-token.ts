/**
 * Viewer and relay tokens (proto/TOKENS.md): the claims format, defined once, and the checks a
 * relay makes with the public key set alone, so a viewer connect needs no database and no
 * control-plane hop (DESIGN.md §3.5). The control plane signs with the same constants and
 * parses with the same claim rules; single use is enforced on the relay with a bounded jti set
 * because a viewer URL can leak into logs and history.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from "jose";

export const TOKEN_ISSUER = "streamspace";
export const VIEWER_AUDIENCE = "streamspace-viewer";
export const RELAY_AUDIENCE = "streamspace-relay";
/**
 * The control plane's reads of a relay's per-session activity (GET /activity). A separate
 * audience: an agent's relay token must not read other agents' sessions.
 */
export const RELAY_READ_AUDIENCE = "streamspace-relay-read";
/** The one signature algorithm (Ed25519); anything else is refused before the key is used. */
export const TOKEN_ALGORITHM = "EdDSA";
/** Long enough to open a WebSocket, short enough that a leaked URL is worthless a minute later. */
export const VIEWER_TOKEN_TTL_S = 60;
/** A fresh relay token rides on every Welcome and RingUpdate, so an hour never runs out. */
export const RELAY_TOKEN_TTL_S = 60 * 60;

/** Verified viewer-token claims, named as in TOKENS.md. */
export interface ViewerClaims {
  /** The user the token was issued to. */
  sub: string;
  /** The session it opens. */
  sid: string;
  /** The agent that runs the session (the relay asks only that agent for a tunnel). */
  aid: string;
  /** Random id, remembered by the relay until `exp`: each token works once. */
  jti: string;
  iat: number;
  exp: number;
}

/** jose options for a viewer token; `currentDate` lets tests age tokens. */
export function viewerVerifyOptions(currentDate?: Date): JWTVerifyOptions {
  return {
    issuer: TOKEN_ISSUER,
    audience: VIEWER_AUDIENCE,
    algorithms: [TOKEN_ALGORITHM],
    requiredClaims: ["sub", "sid", "aid", "jti", "iat", "exp"],
    ...(currentDate ? { currentDate } : {}),
  };
}

/** The claims of a verified payload, or undefined when one has the wrong type. */
export function viewerClaimsOf(payload: JWTPayload): ViewerClaims | undefined {
  const { sub, sid, aid, jti, iat, exp } = payload;
  if (
    typeof sub !== "string" ||
    typeof sid !== "string" ||
    typeof aid !== "string" ||
    typeof jti !== "string" ||
    typeof iat !== "number" ||
    typeof exp !== "number"
  )
    return undefined;
  return { sub, sid, aid, jti, iat, exp };
}

/** Why a token was refused; `code` maps straight to a WebSocket close code. */
export class TokenError extends Error {
  constructor(
    readonly code: 4401 | 4403 | 1013,
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

/** Key source from config: a static JWKS (no hop) or a URL fetched and cached by jose. */
export function createKeySource(opts: { jwks?: string; jwksUrl?: string }): JWTVerifyGetKey {
  if (opts.jwks) return createLocalJWKSet(JSON.parse(opts.jwks));
  if (opts.jwksUrl) {
    return createRemoteJWKSet(new URL(opts.jwksUrl), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 5_000,
    });
  }
  throw new Error("either VIEWER_JWKS or VIEWER_JWKS_URL is required");
}

const why = (err: unknown) =>
  err instanceof Error && "code" in err ? String(err.code) : "invalid";

/** Verifies a viewer token for one session, as a relay does; does not consume it (JtiSet). */
export async function verifyViewerToken(
  keys: JWTVerifyGetKey,
  token: string,
  sessionId: string,
): Promise<ViewerClaims> {
  if (!token) throw new TokenError(4401, "missing viewer token; open the session again to get one");
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, viewerVerifyOptions()));
  } catch (err) {
    throw new TokenError(4401, `viewer token rejected (${why(err)}); ask for a new viewer token`);
  }
  const claims = viewerClaimsOf(payload);
  if (!claims)
    throw new TokenError(4401, "viewer token has malformed claims; ask for a new viewer token");
  if (claims.sid !== sessionId) throw new TokenError(4401, "viewer token is for another session");
  return claims;
}

/** Verifies the agent's relay token (`authorization: Bearer …`); returns the agent id. */
export async function verifyRelayToken(
  keys: JWTVerifyGetKey,
  header: string | undefined,
): Promise<string> {
  const token = header?.startsWith("Bearer ") ? header.slice(7) : "";
  if (!token) throw new TokenError(4401, "missing relay token (authorization: Bearer)");
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: TOKEN_ISSUER,
      audience: RELAY_AUDIENCE,
      algorithms: [TOKEN_ALGORITHM],
      requiredClaims: ["sub", "exp"],
    });
    return payload.sub as string;
  } catch (err) {
    throw new TokenError(4401, `relay token rejected (${why(err)}); wait for the next RingUpdate`);
  }
}

/** Verifies the control plane's activity-read token (`authorization: Bearer …`). */
export async function verifyRelayReadToken(
  keys: JWTVerifyGetKey,
  header: string | undefined,
): Promise<string> {
  const token = header?.startsWith("Bearer ") ? header.slice(7) : "";
  if (!token) throw new TokenError(4401, "missing read token (authorization: Bearer)");
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: TOKEN_ISSUER,
      audience: RELAY_READ_AUDIENCE,
      algorithms: [TOKEN_ALGORITHM],
      requiredClaims: ["sub", "exp"],
    });
    return payload.sub as string;
  } catch (err) {
    throw new TokenError(4401, `read token rejected (${why(err)}); sign a fresh one`);
  }
}

/**
 * Remembers used jtis until they expire. Bounded: when full of live entries it refuses new
 * tokens (1013, retry later) rather than forgetting one, which would allow a replay.
 */
export class JtiSet {
  readonly #seen = new Map<string, number>();
  constructor(
    readonly max = 200_000,
    readonly now: () => number = Date.now,
  ) {}

  /** Marks a jti used; throws TokenError 4403 on a second use. */
  consume(jti: string, expSeconds: number): void {
    this.sweep();
    if (this.#seen.has(jti))
      throw new TokenError(4403, "token already used; ask for a new viewer token");
    if (this.#seen.size >= this.max)
      throw new TokenError(1013, "relay is at its viewer-token limit; retry shortly");
    this.#seen.set(jti, expSeconds * 1000);
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Drops expired entries from the front; tokens live 60 s so insertion order is near exp order. */
  sweep(): void {
    const now = this.now();
    for (const [jti, exp] of this.#seen) {
      if (exp > now) break;
      this.#seen.delete(jti);
    }
  }
}
