/**
 * First-start admin: a fresh deployment must be usable without a database console, so when
 * no admin exists we create "admin" with ADMIN_PASSWORD, or a generated password printed once
 * to stderr. Safe for many pods starting at once: the insert is ON CONFLICT DO NOTHING and only
 * the pod whose insert won prints a password.
 */
import { randomBytes } from "node:crypto";
import type { UserRepo } from "./auth-ports.ts";
import { DEFAULT_SCRYPT, hashPassword, type ScryptParams } from "./passwords.ts";

/** What happened, for logs and tests. */
export type BootstrapResult =
  | { created: false; reason: "admin_exists" | "username_taken" }
  | { created: true; userId: string; generatedPassword?: string };

/** Creates the first admin if there is none; never changes an existing user. */
export async function bootstrapAdmin(
  users: UserRepo,
  env: { ADMIN_PASSWORD?: string | undefined },
  opts: { print?: (line: string) => void; scrypt?: ScryptParams } = {},
): Promise<BootstrapResult> {
  const print = opts.print ?? ((line) => process.stderr.write(`${line}\n`));
  const given = env.ADMIN_PASSWORD;
  if (given !== undefined && given !== "" && given.length < 8) {
    throw new Error("ADMIN_PASSWORD must be at least 8 characters.");
  }
  if (await users.anyAdminId()) return { created: false, reason: "admin_exists" };

  const password = given || randomBytes(18).toString("base64url");
  // A racing pod's insert reads as "someone else created it" (undefined), never as an error.
  const row = await users
    .insert({
      username: "admin",
      displayName: "Administrator",
      role: "admin",
      passwordHash: await hashPassword(password, opts.scrypt ?? DEFAULT_SCRYPT),
      createdAt: new Date(),
    })
    .catch((err: unknown) => {
      throw new Error("create the first admin", { cause: err });
    });
  if (!row) {
    // Another pod won the race, or a non-admin holds the name: either way we create nothing.
    if (await users.anyAdminId()) return { created: false, reason: "admin_exists" };
    print(
      'streamspace: no admin exists and the username "admin" is taken by a non-admin user; ' +
        "promote a user with UserService.SetUserRole from a database session.",
    );
    return { created: false, reason: "username_taken" };
  }
  if (given) return { created: true, userId: row.id };
  print(
    `streamspace: created admin user "admin" with generated password ${password} ` +
      "(shown once; set ADMIN_PASSWORD to choose it, change it after signing in)",
  );
  return { created: true, userId: row.id, generatedPassword: password };
}
