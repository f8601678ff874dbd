/**
 * The core schema: templates, agents, sessions with their events, the command outbox and the
 * audit log. Written as plain SQL statements (one per execute, since the extended protocol
 * refuses multi-statement strings) so it runs unchanged on Postgres and on PGlite.
 *
 * sessions.owner_id is text without a foreign key: users belong to 0002-auth.ts, and a session
 * keeps its owner id even if the user row is later removed (audit over tidiness).
 */
import { type Kysely, sql } from "kysely";

const SESSION_STATES =
  "'pending','scheduled','starting','running','hibernating','hibernated','waking','stopping','stopped','failed'";

const UP = [
  `CREATE TABLE templates (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    display_name text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    image text NOT NULL,
    command jsonb NOT NULL DEFAULT '[]',
    vnc_port integer NOT NULL DEFAULT 0 CHECK (vnc_port BETWEEN 0 AND 65535),
    cpu_millis bigint NOT NULL DEFAULT 0 CHECK (cpu_millis >= 0),
    memory_bytes bigint NOT NULL DEFAULT 0 CHECK (memory_bytes >= 0),
    env jsonb NOT NULL DEFAULT '{}',
    idle_timeout_seconds integer NOT NULL DEFAULT 0 CHECK (idle_timeout_seconds >= 0),
    persistent_home boolean NOT NULL DEFAULT false,
    platform text NOT NULL DEFAULT '' CHECK (platform IN ('', 'local', 'docker', 'kubernetes')),
    region text NOT NULL DEFAULT '',
    required_labels jsonb NOT NULL DEFAULT '{}',
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE agents (
    id text PRIMARY KEY,
    platform text NOT NULL CHECK (platform IN ('local', 'docker', 'kubernetes')),
    region text NOT NULL DEFAULT '',
    version text NOT NULL DEFAULT '',
    labels jsonb NOT NULL DEFAULT '{}',
    state text NOT NULL CHECK (state IN ('pending','online','offline','draining','revoked')),
    credential_hash text,
    max_sessions integer NOT NULL DEFAULT 0 CHECK (max_sessions >= 0),
    active_sessions integer NOT NULL DEFAULT 0 CHECK (active_sessions >= 0),
    max_cpu_millis bigint NOT NULL DEFAULT 0,
    max_memory_bytes bigint NOT NULL DEFAULT 0,
    pod text,
    last_heartbeat_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  "CREATE INDEX agents_state_idx ON agents (state, platform, region)",
  `CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    template_id uuid REFERENCES templates (id) ON DELETE SET NULL,
    agent_id text REFERENCES agents (id) ON DELETE SET NULL,
    state text NOT NULL CHECK (state IN (${SESSION_STATES})),
    state_reason text NOT NULL DEFAULT '',
    version integer NOT NULL DEFAULT 1,
    display_name text NOT NULL DEFAULT '',
    cpu_millis bigint NOT NULL DEFAULT 0,
    memory_bytes bigint NOT NULL DEFAULT 0,
    vnc_endpoint text NOT NULL DEFAULT '',
    holds_capacity boolean NOT NULL DEFAULT false,
    delete_requested boolean NOT NULL DEFAULT false,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now()
  )`,
  // List paging walks (create_time, id) newest first, optionally under one equality filter.
  "CREATE INDEX sessions_page_idx ON sessions (create_time, id)",
  "CREATE INDEX sessions_owner_page_idx ON sessions (owner_id, create_time, id)",
  "CREATE INDEX sessions_agent_page_idx ON sessions (agent_id, create_time, id)",
  "CREATE INDEX sessions_template_page_idx ON sessions (template_id, create_time, id)",
  "CREATE INDEX sessions_state_page_idx ON sessions (state, create_time, id)",
  `CREATE TABLE session_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id uuid NOT NULL,
    from_state text,
    to_state text NOT NULL,
    reason text NOT NULL DEFAULT '',
    version integer NOT NULL,
    actor text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  "CREATE INDEX session_events_session_idx ON session_events (session_id, id)",
  `CREATE TABLE agent_commands (
    id uuid PRIMARY KEY,
    agent_id text NOT NULL,
    session_id uuid,
    kind text NOT NULL,
    payload bytea NOT NULL,
    status text NOT NULL DEFAULT 'pending'
      CHECK (status IN ('pending','sent','acked','completed','failed')),
    attempts integer NOT NULL DEFAULT 0,
    ack_deadline timestamptz,
    deadline timestamptz NOT NULL,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  "CREATE INDEX agent_commands_agent_status_idx ON agent_commands (agent_id, status, created_at)",
  "CREATE INDEX agent_commands_redeliver_idx ON agent_commands (status, ack_deadline) WHERE status = 'sent'",
  `CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id text NOT NULL,
    action text NOT NULL,
    target_kind text NOT NULL,
    target_id text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  "CREATE INDEX audit_log_time_idx ON audit_log (created_at)",
];

const DOWN = ["audit_log", "agent_commands", "session_events", "sessions", "agents", "templates"];

/** Creates the core tables; see the file comment for why each statement runs on its own. */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const stmt of UP) await sql.raw(stmt).execute(db);
}

/** Drops the core tables in dependency order. */
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of DOWN) await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
}
