/**
 * The deployment's Ed25519 signing key (proto/TOKENS.md). The control plane signs viewer and
 * relay tokens with the private half; relays verify with the public half published as a JWKS,
 * so they need neither the database nor a hop to the control plane.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type CryptoKey, calculateJwkThumbprint, importPKCS8, type JWK } from "jose";

/** The public JWK set served at GET /.well-known/jwks.json. */
export interface Jwks {
  keys: JWK[];
}

/** A loaded key pair: what signers need (private key, kid) and what relays fetch (jwks). */
export interface SigningKeys {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  jwks: Jwks;
  /** Where the key came from, for the start-up log line. */
  source: string;
}

/** File name of a generated key inside the data folder. */
export const GENERATED_KEY_FILE = "signing-key.pem";

/**
 * Loads SIGNING_KEY_FILE, or the key generated earlier in `dataDir`, or generates one there on
 * first start. A malformed file stops start-up with a message naming the file and the format.
 */
export async function loadSigningKeys(opts: {
  keyFile?: string | undefined;
  dataDir: string;
}): Promise<SigningKeys> {
  let pem: string;
  let source: string;
  if (opts.keyFile) {
    pem = readPem(opts.keyFile);
    source = opts.keyFile;
  } else {
    const path = join(opts.dataDir, GENERATED_KEY_FILE);
    source = path;
    try {
      pem = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      pem = generateSigningKeyPem();
      mkdirSync(dirname(path), { recursive: true });
      // wx: two processes racing on first start must not overwrite each other's key.
      try {
        writeFileSync(path, pem, { mode: 0o600, flag: "wx" });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        pem = readFileSync(path, "utf8");
      }
    }
  }
  return signingKeysFromPem(pem, source);
}

/** A fresh Ed25519 private key as PKCS#8 PEM (what SIGNING_KEY_FILE holds). */
export function generateSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** Builds the key set from PEM text; used by loadSigningKeys and by tests. */
export async function signingKeysFromPem(pem: string, source = "memory"): Promise<SigningKeys> {
  let priv: KeyObject;
  try {
    priv = createPrivateKey(pem);
  } catch (cause) {
    throw new Error(`${source}: expected an Ed25519 private key in PKCS#8 PEM form`, { cause });
  }
  if (priv.asymmetricKeyType !== "ed25519") {
    throw new Error(
      `${source}: expected an Ed25519 key, found ${priv.asymmetricKeyType ?? "unknown"}; ` +
        "generate one with `openssl genpkey -algorithm ed25519`",
    );
  }
  const pub = createPublicKey(priv).export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint({ kty: pub.kty, crv: pub.crv, x: pub.x });
  const publicJwk: JWK = { kty: "OKP", crv: "Ed25519", x: pub.x, kid, alg: "EdDSA", use: "sig" };
  const privateKey = await importPKCS8(
    priv.export({ type: "pkcs8", format: "pem" }).toString(),
    "EdDSA",
  );
  return { kid, privateKey, publicJwk, jwks: { keys: [publicJwk] }, source };
}

function readPem(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (cause) {
    throw new Error(`SIGNING_KEY_FILE=${path} cannot be read; point it at a PKCS#8 PEM file`, {
      cause,
    });
  }
}
