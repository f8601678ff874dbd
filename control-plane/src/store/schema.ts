/**
 * Table types for kysely. They mirror migrations/0001-core.ts exactly; a column added there is
 * added here in the same change, so every query is checked against the real schema.
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
}

/**
 * Every table the core owns. The auth helper's tables (users, api_keys) are declared in their
 * own module and merged by whoever needs both, so neither side edits the other's types.
 */
export interface Database {
  templates: TemplatesTable;
  agents: AgentsTable;
  sessions: SessionsTable;
  session_events: SessionEventsTable;
  agent_commands: AgentCommandsTable;
  audit_log: AuditLogTable;
}
