/**
 * Viewer and relay token checks (proto/TOKENS.md). Relays hold only the public key set, so a
 * connect needs no database and no control-plane hop; single use is enforced here with a
 * bounded jti set because a viewer URL can leak into logs and history.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";

/** Claims the relay relies on after verification. */
export interface ViewerClaims {
  sub: string;
  sid: string;
  aid: string;
  jti: string;
  exp: number;
}

/** Why a token was refused; `code` maps straight to a WebSocket close code. */
export class TokenError extends Error {
  constructor(
    readonly code: 4401 | 4403 | 1013,
    message: string,
  ) {
    super(message);
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

const ISSUER = "streamspace";

/** Verifies a viewer token for one session; does not consume it (see JtiSet). */
export async function verifyViewerToken(
  keys: JWTVerifyGetKey,
  token: string,
  sessionId: string,
): Promise<ViewerClaims> {
  if (!token) throw new TokenError(4401, "missing viewer token; open the session again to get one");
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      issuer: ISSUER,
      audience: "streamspace-viewer",
      algorithms: ["EdDSA"],
      requiredClaims: ["sid", "aid", "jti", "exp", "sub"],
    }));
  } catch (err) {
    const why = err instanceof Error && "code" in err ? String(err.code) : "invalid";
    throw new TokenError(4401, `viewer token rejected (${why}); ask for a new viewer token`);
  }
  const { sid, aid, jti, exp, sub } = payload;
  if (
    typeof sid !== "string" ||
    typeof aid !== "string" ||
    typeof jti !== "string" ||
    typeof sub !== "string"
  ) {
    throw new TokenError(4401, "viewer token has malformed claims; ask for a new viewer token");
  }
  if (sid !== sessionId) throw new TokenError(4401, "viewer token is for another session");
  return { sid, aid, jti, sub, exp: exp as number };
}

/** Verifies the agent's relay token and returns the agent id it names. */
export async function verifyRelayToken(
  keys: JWTVerifyGetKey,
  header: string | undefined,
): Promise<string> {
  const token = header?.startsWith("Bearer ") ? header.slice(7) : "";
  if (!token) throw new TokenError(4401, "missing relay token (authorization: Bearer)");
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: ISSUER,
      audience: "streamspace-relay",
      algorithms: ["EdDSA"],
      requiredClaims: ["sub", "exp"],
    });
    return payload.sub as string;
  } catch (err) {
    const why = err instanceof Error && "code" in err ? String(err.code) : "invalid";
    throw new TokenError(4401, `relay token rejected (${why}); wait for the next RingUpdate`);
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
