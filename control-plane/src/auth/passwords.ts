/**
 * Password hashing with scrypt from node:crypto. The cost parameters travel inside the hash
 * string (`scrypt$N$r$p$salt$hash`), so raising them later only affects new hashes and old
 * ones still verify.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** Cost parameters; N=2^15, r=8 costs ~32 MiB and ~100 ms per hash on one core here. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Production defaults (OWASP's scrypt recommendation). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const KEY_LEN = 32;
const SALT_LEN = 16;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFKC"),
      salt,
      KEY_LEN,
      { ...params, maxmem: 128 * params.N * params.r * 2 },
      (err, key) => (err ? reject(new Error("scrypt derive", { cause: err })) : resolve(key)),
    );
  });
}

/** Hashes a password with a fresh random salt; the result is self-describing. */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await derive(password, salt, params);
  return [
    "scrypt",
    params.N,
    params.r,
    params.p,
    salt.toString("base64url"),
    key.toString("base64url"),
  ].join("$");
}

/**
 * True when the password matches. Malformed hashes verify false rather than throw, so a
 * corrupt row reads as "wrong password" and never as an internal error on login.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return false;
  const salt = Buffer.from(parts[4] ?? "", "base64url");
  const expected = Buffer.from(parts[5] ?? "", "base64url");
  if (salt.length === 0 || expected.length !== KEY_LEN) return false;
  const actual = await derive(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

/** A throwaway hash to compare against when the user does not exist, so timing leaks nothing. */
export const DUMMY_HASH_PROMISE: () => Promise<string> = (() => {
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= hashPassword(randomBytes(16).toString("hex"));
    return cached;
  };
})();
