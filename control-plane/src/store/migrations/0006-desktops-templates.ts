/**
 * Brings the desktop templates to installs that already have templates: the full Linux desktop
 * and the web browser are added where no template of that name exists, and the default xterm
 * gets a window manager where it is still exactly as seeded. A fresh (empty) install gets all
 * of them from seed.ts instead, so this touches nothing there. Values are written out here,
 * not imported, so later changes to the seed never change what this migration did.
 * Data only: down() leaves the rows, which operators may have used or edited since.
 */
import { type Kysely, sql } from "kysely";

const GIB = 1024 * 1024 * 1024;

export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM templates`.execute(db);
  if ((rows[0]?.n ?? 0) === 0) return;
  await sql`
    INSERT INTO templates
      (id, name, display_name, description, image, command, cpu_millis, memory_bytes, env,
       idle_timeout_seconds, platform)
    VALUES
      (gen_random_uuid(), 'desktop', 'Linux desktop',
       'A light desktop: windows, a panel with a clock, a terminal and a file manager.',
       'xvfb', '["streamspace-desktop"]'::jsonb, 1000, ${GIB}, '{}'::jsonb, 3600, 'local'),
      (gen_random_uuid(), 'web-browser', 'Web browser',
       'Chromium, full screen and nothing else, like a kiosk.',
       'xvfb', '["streamspace-browser"]'::jsonb, 1000, ${1.5 * GIB},
       '{"SS_BROWSER_URL": "https://www.debian.org/"}'::jsonb, 3600, 'local')
    ON CONFLICT (name) DO NOTHING`.execute(db);
  await sql`
    UPDATE templates
    SET env = '{"SS_WINDOW_MANAGER": "openbox"}'::jsonb, display_name = 'Terminal',
        update_time = now()
    WHERE name = 'xterm-desktop' AND env = '{}'::jsonb AND command = '["xterm"]'::jsonb
      AND display_name = 'xterm on Xvfb'`.execute(db);
}

export async function down(_db: Kysely<unknown>): Promise<void> {}
