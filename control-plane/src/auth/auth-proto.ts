/**
 * Auth records ⇄ generated proto messages, shared by the Connect handlers and the tRPC views
 * so both transports show a user, a key or a token pair the same way.
 */
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type TokenPair as PbTokenPair,
  TokenPairSchema,
} from "@streamspace/proto/streamspace/v1/auth_service_pb";
import {
  ApiKeySchema,
  type ApiKey as PbApiKey,
  Role as PbRole,
  type User as PbUser,
  UserSchema,
} from "@streamspace/proto/streamspace/v1/types_pb";
import type { Role } from "../domain/principal.ts";
import type { ApiKeyInfo } from "./api-keys.ts";
import type { AuthUser, TokenPair } from "./auth-core.ts";

const TO_PB_ROLE: Record<Role, PbRole> = {
  user: PbRole.USER,
  operator: PbRole.OPERATOR,
  admin: PbRole.ADMIN,
};

/** Domain role → proto enum. */
export function roleToProto(role: Role): PbRole {
  return TO_PB_ROLE[role];
}

/** Proto enum → domain role; UNSPECIFIED and unknown numbers give undefined for zod to reject. */
export function roleFromProto(role: PbRole): Role | undefined {
  switch (role) {
    case PbRole.USER:
      return "user";
    case PbRole.OPERATOR:
      return "operator";
    case PbRole.ADMIN:
      return "admin";
    default:
      return undefined;
  }
}

function ts(d: Date | null): Timestamp | undefined {
  return d ? timestampFromDate(d) : undefined;
}

/** A user as the public API shows it (never the password hash). */
export function userToProto(u: AuthUser): PbUser {
  return create(UserSchema, {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    role: roleToProto(u.role),
    disabled: u.disabled,
    createTime: ts(u.createdAt),
  });
}

/** An API key's metadata; the secret is returned once by CreateApiKey, never here. */
export function apiKeyToProto(k: ApiKeyInfo): PbApiKey {
  return create(ApiKeySchema, {
    id: k.id,
    userId: k.userId,
    name: k.name,
    prefix: k.prefix,
    createTime: ts(k.createdAt),
    expireTime: ts(k.expiresAt),
    lastUsedTime: ts(k.lastUsedAt),
  });
}

/** A token pair with its expiry instants. */
export function tokenPairToProto(t: TokenPair): PbTokenPair {
  return create(TokenPairSchema, {
    accessToken: t.accessToken,
    accessExpireTime: ts(t.accessExpiresAt),
    refreshToken: t.refreshToken,
    refreshExpireTime: ts(t.refreshExpiresAt),
  });
}
