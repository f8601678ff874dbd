/**
 * Input schemas for every auth and user operation, in one place both transports call (DESIGN.md
 * §2). A failure becomes InvalidArgument naming the field and what to send instead.
 */
import { z } from "zod";

/** Lower-case, URL- and shell-safe, so names read the same in logs, URLs and grpcurl. */
export const usernameSchema = z
  .string()
  .min(3, "must be at least 3 characters")
  .max(64, "must be at most 64 characters")
  .regex(
    /^[a-z0-9][a-z0-9._-]*$/,
    "must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

/** Bounded both ways: too short is guessable, unbounded input would let a caller burn CPU. */
export const passwordSchema = z
  .string()
  .min(8, "must be at least 8 characters")
  .max(256, "must be at most 256 characters");

/** Ids are Postgres uuids; checking the shape first turns a typo into InvalidArgument, not a SQL error. */
export const idSchema = z.guid("must be a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427");

/** Any request whose only input is an id. */
export const idInput = z.object({ id: idSchema });

export const roleSchema = z.enum(["user", "operator", "admin"], {
  error: "must be ROLE_USER, ROLE_OPERATOR or ROLE_ADMIN",
});

export const loginInput = z.object({
  username: z.string().min(1, "is required").max(64, "must be at most 64 characters"),
  password: z.string().min(1, "is required").max(256, "must be at most 256 characters"),
});

export const refreshInput = z.object({
  refreshToken: z
    .string()
    .min(1, "is required; send the refresh_token from Login or the previous Refresh")
    .max(200, "is too long to be a refresh token"),
});

export const logoutInput = z.object({
  refreshToken: z.string().max(200, "is too long to be a refresh token"),
});

export const createApiKeyInput = z.object({
  name: z.string().trim().min(1, "is required; name the key after where it is used").max(100),
  /** Zero means never expires; otherwise 1 minute to 10 years. */
  ttl: z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 60 && n <= 10 * 365 * 86400), {
      message: "must be 0 (never expires) or between 60 seconds and 10 years",
    }),
});

export const createUserInput = z.object({
  username: usernameSchema,
  password: passwordSchema,
  displayName: z.string().max(128, "must be at most 128 characters"),
  role: roleSchema,
});

export const setRoleInput = z.object({ id: idSchema, role: roleSchema });

export const resetPasswordInput = z.object({ id: idSchema, password: passwordSchema });

/** Empty user_id means the caller's own keys; an admin may name anyone. */
export const listApiKeysInput = z.object({
  userId: z.union([z.literal(""), idSchema]).default(""),
});

export const listUsersInput = z.object({
  pageSize: z.number().int().min(0, "must be 0..500").max(500, "must be 0..500"),
  pageToken: z.string().max(200, "is not a page token from a previous ListUsers response"),
});

/**
 * Parses input or throws InvalidArgument "field_name: what is wrong": the domain's one parser,
 * so auth refusals read like every other refusal on both transports.
 */
export { parse as parseInput } from "../domain/validation.ts";
