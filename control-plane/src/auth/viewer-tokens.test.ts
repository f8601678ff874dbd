import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { DomainError } from "../domain/errors.ts";
import { manualClock } from "./auth-test-kit.ts";
import { generateSigningKeyPem, loadSigningKeys, signingKeysFromPem } from "./signing-keys.ts";
import {
  createViewerTokenSigner,
  RELAY_AUDIENCE,
  VIEWER_AUDIENCE,
  verifyViewerToken,
} from "./viewer-tokens.ts";

const ids = { userId: "u-1", sessionId: "s-1", agentId: "a-1" };

async function rejectsAuth(p: Promise<unknown>, message: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DomainError, String(err));
    assert.equal(err.code, "unauthenticated");
    assert.match(err.message, message);
    return true;
  });
}

describe("signing keys", () => {
  it("generates a key into the data folder on first start and reuses it after", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ss-keys-"));
    try {
      const a = await loadSigningKeys({ dataDir: dir });
      const b = await loadSigningKeys({ dataDir: dir });
      assert.equal(a.kid, b.kid);
      assert.equal(statSync(join(dir, "signing-key.pem")).mode & 0o777, 0o600);
      const [jwk] = a.jwks.keys;
      assert.deepEqual(Object.keys(jwk ?? {}).sort(), ["alg", "crv", "kid", "kty", "use", "x"]);
      assert.equal(jwk?.kty, "OKP");
      assert.equal(jwk?.crv, "Ed25519");
      assert.equal(jwk?.alg, "EdDSA");
      assert.ok(!JSON.stringify(a.jwks).includes('"d"'), "the JWKS never carries the private half");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loads SIGNING_KEY_FILE and refuses a malformed or non-Ed25519 file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ss-keys-"));
    try {
      const file = join(dir, "k.pem");
      writeFileSync(file, generateSigningKeyPem());
      const k = await loadSigningKeys({ keyFile: file, dataDir: dir });
      assert.equal(k.source, file);
      writeFileSync(file, "not a pem");
      await assert.rejects(loadSigningKeys({ keyFile: file, dataDir: dir }), /PKCS#8 PEM/);
      await assert.rejects(
        loadSigningKeys({ keyFile: join(dir, "missing.pem"), dataDir: dir }),
        /SIGNING_KEY_FILE=.*cannot be read/,
      );
      const { generateKeyPairSync } = await import("node:crypto");
      const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
        type: "pkcs8",
        format: "pem",
      });
      writeFileSync(file, rsa);
      await assert.rejects(
        loadSigningKeys({ keyFile: file, dataDir: dir }),
        /expected an Ed25519 key/,
      );
      assert.ok(readFileSync(file, "utf8").includes("PRIVATE KEY"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("viewer and relay tokens", () => {
  it("viewer tokens carry exactly the TOKENS.md claims and live 60 s", async () => {
    const keys = await signingKeysFromPem(generateSigningKeyPem());
    const signer = createViewerTokenSigner(keys);
    const { token, expiresAt } = await signer.signViewerToken(ids);
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, "EdDSA");
    assert.equal(header.kid, keys.kid);
    const c = decodeJwt(token);
    assert.deepEqual(Object.keys(c).sort(), [
      "aid",
      "aud",
      "exp",
      "iat",
      "iss",
      "jti",
      "sid",
      "sub",
    ]);
    assert.equal(c.iss, "streamspace");
    assert.equal(c.aud, VIEWER_AUDIENCE);
    assert.equal(c.sub, "u-1");
    assert.equal(c.sid, "s-1");
    assert.equal(c.aid, "a-1");
    assert.equal((c.exp ?? 0) - (c.iat ?? 0), 60);
    assert.equal(expiresAt.getTime(), (c.exp ?? 0) * 1000);
    const v = await verifyViewerToken(token, keys.jwks, { sessionId: "s-1" });
    assert.equal(v.sid, "s-1");
    // Every token has its own jti, so a relay can refuse the second use.
    const again = await signer.signViewerToken(ids);
    assert.notEqual(decodeJwt(again.token).jti, c.jti);
  });

  it("relay tokens: aud streamspace-relay, sub agent id, 1 h, no jti needed", async () => {
    const keys = await signingKeysFromPem(generateSigningKeyPem());
    const { token } = await createViewerTokenSigner(keys).signRelayToken("agent-7");
    const c = decodeJwt(token);
    assert.deepEqual(Object.keys(c).sort(), ["aud", "exp", "iat", "iss", "sub"]);
    assert.equal(c.aud, RELAY_AUDIENCE);
    assert.equal(c.sub, "agent-7");
    assert.equal((c.exp ?? 0) - (c.iat ?? 0), 3600);
    // A relay token is never accepted as a viewer token.
    await rejectsAuth(verifyViewerToken(token, keys.jwks), /not valid/);
  });

  it("refuses expired, tampered, other-session and other-deployment viewer tokens", async () => {
    const clock = manualClock();
    const keys = await signingKeysFromPem(generateSigningKeyPem());
    const { token } = await createViewerTokenSigner(keys, clock.now).signViewerToken(ids);
    await rejectsAuth(verifyViewerToken(token, keys.jwks, { sessionId: "s-2" }), /another session/);
    const [h, p, s] = token.split(".") as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), sid: "s-2" })).toString(
      "base64url",
    );
    await rejectsAuth(verifyViewerToken(`${h}.${forged}.${s}`, keys.jwks), /not valid/);
    await rejectsAuth(verifyViewerToken(`${h}.${p}.`, keys.jwks), /not valid/);
    await rejectsAuth(verifyViewerToken("garbage", keys.jwks), /not valid/);
    const other = await signingKeysFromPem(generateSigningKeyPem());
    await rejectsAuth(verifyViewerToken(token, other.jwks), /not valid/);
    // An HS256 token with the public key as secret (alg confusion) is refused.
    const hs = await new SignJWT({ sid: "s-1", aid: "a-1" })
      .setProtectedHeader({ alg: "HS256", kid: keys.kid })
      .setIssuer("streamspace")
      .setAudience(VIEWER_AUDIENCE)
      .setSubject("u-1")
      .setJti("j")
      .setIssuedAt()
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(keys.publicJwk.x ?? "x"));
    await rejectsAuth(verifyViewerToken(hs, keys.jwks), /not valid/);
    clock.advance(61_000);
    await rejectsAuth(verifyViewerToken(token, keys.jwks, { now: clock.now }), /expired/);
  });
});
