/**
 * Table types for kysely: the one `Database` type every query in store/ is checked against.
 * They mirror the migrations exactly (migrations/index.ts lists them); a column added there is
 * added here in the same change.
 */
import type { ColumnType, Generated } from "kysely";

/** int8 comes back as a string from pg and as a number/bigint from PGlite; callers convert. */
type Int8 = ColumnType<
  string | number | bigint,
  string | number | bigint,
  string | number | bigint
>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;
/** Timestamps come back as Date from both pg and PGlite; inserts may pass a Date. */
type Timestamp = ColumnType<Date, Date | undefined, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export interface TemplatesTable {
  id: string;
  name: string;
  display_name: string;
  description: string;
  image: string;
  command: Json<string[]>;
  vnc_port: number;
  cpu_millis: Int8;
  memory_bytes: Int8;
  env: Json<Record<string, string>>;
  idle_timeout_seconds: number;
  persistent_home: boolean;
  platform: string;
  region: string;
  required_labels: Json<Record<string, string>>;
  create_time: CreatedAt;
  update_time: UpdatedAt;
}

export interface AgentsTable {
  id: string;
  platform: string;
  region: string;
  version: string;
  labels: Json<Record<string, string>>;
  state: string;
  credential_hash: string | null;
  max_sessions: number;
  active_sessions: Generated<number>;
  max_cpu_millis: Int8;
  max_memory_bytes: Int8;
  pod: string | null;
  last_heartbeat_at: Date | null;
  /** The agent's last heartbeat's platform problem; empty when its platform works. */
  platform_problem: Generated<string>;
  created_at: CreatedAt;
}

export interface SessionsTable {
  id: string;
  owner_id: string;
  template_id: string | null;
  agent_id: string | null;
  state: string;
  state_reason: string;
  version: Generated<number>;
  display_name: string;
  cpu_millis: Int8;
  memory_bytes: Int8;
  vnc_endpoint: string;
  holds_capacity: boolean;
  delete_requested: Generated<boolean>;
  create_time: CreatedAt;
  update_time: UpdatedAt;
}

export interface SessionEventsTable {
  id: Generated<Int8>;
  session_id: string;
  from_state: string | null;
  to_state: string;
  reason: string;
  version: number;
  actor: string;
  created_at: CreatedAt;
}

export interface AgentCommandsTable {
  id: string;
  agent_id: string;
  session_id: string | null;
  kind: string;
  payload: Uint8Array;
  status: string;
  attempts: Generated<number>;
  ack_deadline: Date | null;
  deadline: Date;
  error: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AuditLogTable {
  id: Generated<Int8>;
  actor_id: string;
  action: string;
  target_kind: string;
  target_id: string;
  detail: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  /** 0005-audit-calls: where the call came from and how it ended. */
  source: Generated<string>;
  transport: Generated<string>;
  outcome: Generated<string>;
  message: Generated<string>;
  request_id: Generated<string>;
}

/** One person or service account (0002-auth, 0003-login-throttle). */
export interface UsersTable {
  id: Generated<string>;
  username: string;
  display_name: string;
  role: "user" | "operator" | "admin";
  /** `scrypt$N$r$p$salt$hash`, see auth/passwords.ts; parameters travel with the hash. */
  password_hash: string;
  disabled: Generated<boolean>;
  created_at: Timestamp;
  /** Consecutive wrong passwords since the last good sign-in (auth/login-throttle.ts). */
  failed_logins: Generated<number>;
  /** Sign-ins are refused until this instant after too many failures. */
  locked_until: NullableTimestamp;
}

/** SDK and grpcurl credentials; only the SHA-256 of the secret is kept. */
export interface ApiKeysTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  /** The first characters of the secret, so a person can tell keys apart in a list. */
  prefix: string;
  secret_hash: string;
  created_at: Timestamp;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

/**
 * Opaque refresh tokens, rotated on every use. `family_id` ties a login's chain together so a
 * replayed (already rotated) token revokes the whole chain; `access_jti` is the access token
 * minted alongside, revoked with the family.
 */
export interface RefreshTokensTable {
  id: Generated<string>;
  user_id: string;
  family_id: string;
  hash: string;
  access_jti: string;
  access_expires_at: Date;
  created_at: Timestamp;
  expires_at: Date;
  revoked_at: NullableTimestamp;
  replaced_by: string | null;
}

/** Every table the control plane has; one Kysely instance of this type serves them all. */
export interface Database {
  templates: TemplatesTable;
  agents: AgentsTable;
  sessions: SessionsTable;
  session_events: SessionEventsTable;
  agent_commands: AgentCommandsTable;
  audit_log: AuditLogTable;
  users: UsersTable;
  api_keys: ApiKeysTable;
  refresh_tokens: RefreshTokensTable;
}
