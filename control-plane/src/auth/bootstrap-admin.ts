/**
 * First-start admin: a fresh deployment must be usable without a database console, so when
 * no admin exists we create "admin" with ADMIN_PASSWORD, or a generated password printed once
 * to stderr. Safe for many pods starting at once: the insert is ON CONFLICT DO NOTHING and only
 * the pod whose insert won prints a password.
 */
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { AuthTables } from "./auth-schema.ts";
import { DEFAULT_SCRYPT, hashPassword, type ScryptParams } from "./passwords.ts";
import { isUniqueViolation } from "./tokens-util.ts";

/** What happened, for logs and tests. */
export type BootstrapResult =
  | { created: false; reason: "admin_exists" | "username_taken" }
  | { created: true; userId: string; generatedPassword?: string };

/** Creates the first admin if there is none; never changes an existing user. */
export async function bootstrapAdmin(
  db: Kysely<AuthTables>,
  env: { ADMIN_PASSWORD?: string | undefined },
  opts: { print?: (line: string) => void; scrypt?: ScryptParams } = {},
): Promise<BootstrapResult> {
  const print = opts.print ?? ((line) => process.stderr.write(`${line}\n`));
  const given = env.ADMIN_PASSWORD;
  if (given !== undefined && given !== "" && given.length < 8) {
    throw new Error("ADMIN_PASSWORD must be at least 8 characters.");
  }
  const existing = await db
    .selectFrom("users")
    .select("id")
    .where("role", "=", "admin")
    .limit(1)
    .executeTakeFirst();
  if (existing) return { created: false, reason: "admin_exists" };

  const password = given || randomBytes(18).toString("base64url");
  const row = await db
    .insertInto("users")
    .values({
      username: "admin",
      display_name: "Administrator",
      role: "admin",
      password_hash: await hashPassword(password, opts.scrypt ?? DEFAULT_SCRYPT),
      created_at: new Date(),
    })
    .onConflict((oc) => oc.column("username").doNothing())
    .returning("id")
    .executeTakeFirst()
    .catch((err: unknown) => {
      // Belt and braces: a racing pod's insert reads as "someone else created it".
      if (isUniqueViolation(err)) return undefined;
      throw new Error("create the first admin", { cause: err });
    });
  if (!row) {
    // Another pod won the race, or a non-admin holds the name: either way we create nothing.
    const again = await db
      .selectFrom("users")
      .select("id")
      .where("role", "=", "admin")
      .executeTakeFirst();
    if (again) return { created: false, reason: "admin_exists" };
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
