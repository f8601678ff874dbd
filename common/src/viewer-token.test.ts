/** Viewer tokens verify with the public key alone; single use is bounded and expiring. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import {
  createKeySource,
  JtiSet,
  RELAY_AUDIENCE,
  TOKEN_ALGORITHM,
  TOKEN_ISSUER,
  TokenError,
  VIEWER_AUDIENCE,
  verifyRelayToken,
  verifyViewerToken,
  viewerClaimsOf,
  viewerVerifyOptions,
} from "./viewer-token.ts";

describe("JtiSet", () => {
  it("refuses a second use with 4403 until the token expires", () => {
    let now = 1_000_000;
    const set = new JtiSet(10, () => now);
    set.consume("a", 1_060);
    assert.throws(
      () => set.consume("a", 1_060),
      (e: { code: number }) => e.code === 4403,
    );
    now = 1_061_000;
    set.consume("b", 1_200);
    assert.equal(set.size, 1);
  });

  it("refuses new tokens (1013) rather than forgetting live ones when full", () => {
    const set = new JtiSet(2, () => 0);
    set.consume("a", 100);
    set.consume("b", 100);
    assert.throws(
      () => set.consume("c", 100),
      (e: { code: number }) => e.code === 1013,
    );
  });
});

describe("viewer and relay tokens", async () => {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", {
    crv: "Ed25519",
    extractable: true,
  });
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA" }],
  });
  const keys = createKeySource({ jwks });
  const sign = (claims: Record<string, unknown>, aud = VIEWER_AUDIENCE, sub = "u-1", ttlS = 60) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: "k1" })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlS)
      .sign(privateKey);
  const refused = async (p: Promise<unknown>, message: RegExp) =>
    assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof TokenError, String(e));
      assert.equal(e.code, 4401);
      assert.match(e.message, message);
      return true;
    });

  it("a viewer token verifies for its session and yields the claims", async () => {
    const token = await sign({ sid: "s-1", aid: "a-1", jti: "j-1" });
    const c = await verifyViewerToken(keys, token, "s-1");
    assert.equal(c.sub, "u-1");
    assert.equal(c.sid, "s-1");
    assert.equal(c.aid, "a-1");
    assert.equal(c.jti, "j-1");
    assert.ok(c.exp > c.iat);
  });

  it("refuses missing, foreign-session, expired, wrong-audience and malformed tokens", async () => {
    await refused(verifyViewerToken(keys, "", "s-1"), /missing viewer token/);
    const good = await sign({ sid: "s-1", aid: "a-1", jti: "j" });
    await refused(verifyViewerToken(keys, good, "s-2"), /another session/);
    const expired = await sign({ sid: "s-1", aid: "a-1", jti: "j" }, VIEWER_AUDIENCE, "u", -10);
    await refused(verifyViewerToken(keys, expired, "s-1"), /rejected \(ERR_JWT_EXPIRED\)/);
    const relayAud = await sign({ sid: "s-1", aid: "a-1", jti: "j" }, RELAY_AUDIENCE);
    await refused(verifyViewerToken(keys, relayAud, "s-1"), /viewer token rejected/);
    const noAid = await sign({ sid: "s-1", jti: "j" });
    await refused(verifyViewerToken(keys, noAid, "s-1"), /viewer token rejected/);
    const badType = await sign({ sid: "s-1", aid: 7, jti: "j" });
    await refused(verifyViewerToken(keys, badType, "s-1"), /malformed claims/);
    await refused(verifyViewerToken(keys, "garbage", "s-1"), /viewer token rejected/);
  });

  it("viewerClaimsOf is the one claims check", () => {
    const p = { sub: "u", sid: "s", aid: "a", jti: "j", iat: 1, exp: 2 };
    assert.deepEqual(viewerClaimsOf(p), p);
    assert.equal(viewerClaimsOf({ ...p, iat: "1" } as unknown as typeof p), undefined);
    assert.deepEqual(viewerVerifyOptions().requiredClaims, [
      "sub",
      "sid",
      "aid",
      "jti",
      "iat",
      "exp",
    ]);
  });

  it("a relay token names its agent; other audiences and schemes are refused", async () => {
    const token = await sign({}, RELAY_AUDIENCE, "agent-7");
    assert.equal(await verifyRelayToken(keys, `Bearer ${token}`), "agent-7");
    await refused(verifyRelayToken(keys, undefined), /missing relay token/);
    await refused(verifyRelayToken(keys, `Basic ${token}`), /missing relay token/);
    const viewer = await sign({ sid: "s", aid: "a", jti: "j" });
    await refused(verifyRelayToken(keys, `Bearer ${viewer}`), /relay token rejected/);
  });

  it("a key source needs a JWKS or its URL", () => {
    assert.throws(() => createKeySource({}), /VIEWER_JWKS/);
    assert.equal(
      typeof createKeySource({ jwksUrl: "http://127.0.0.1:1/.well-known/jwks.json" }),
      "function",
    );
  });
});
