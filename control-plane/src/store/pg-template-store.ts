/**
 * Templates on Postgres/PGlite. Looked up by UUID or by unique name, because people type names
 * ("xterm-desktop") and programs pass ids; jsonb columns hold the list and map fields.
 */
import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import { NameTakenError, type TemplateRepo } from "../domain/ports.ts";
import type { Platform, Template, TemplateInput } from "../domain/types.ts";
import { isUniqueViolation } from "./database.ts";
import type { Database, TemplatesTable } from "./schema.ts";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fromRow(r: Selectable<TemplatesTable>): Template {
  return {
    id: r.id,
    name: r.name,
    displayName: r.display_name,
    description: r.description,
    image: r.image,
    command: r.command,
    vncPort: r.vnc_port,
    resources: { cpuMillis: BigInt(r.cpu_millis), memoryBytes: BigInt(r.memory_bytes) },
    env: r.env,
    idleTimeoutSeconds: r.idle_timeout_seconds,
    persistentHome: r.persistent_home,
    platform: r.platform as Platform,
    region: r.region,
    requiredLabels: r.required_labels,
    createTime: r.create_time,
    updateTime: r.update_time,
  };
}

/** Row columns of a template, the same for inserts, updates and the seed. */
function toColumns(t: TemplateInput) {
  return {
    name: t.name,
    display_name: t.displayName,
    description: t.description,
    image: t.image,
    command: JSON.stringify(t.command),
    vnc_port: t.vncPort,
    cpu_millis: t.resources.cpuMillis.toString(),
    memory_bytes: t.resources.memoryBytes.toString(),
    env: JSON.stringify(t.env),
    idle_timeout_seconds: t.idleTimeoutSeconds,
    persistent_home: t.persistentHome,
    platform: t.platform,
    region: t.region,
    required_labels: JSON.stringify(t.requiredLabels),
  };
}

/** Rethrows a unique violation on the name as the port's NameTakenError. */
const nameTaken =
  (name: string) =>
  (err: unknown): never => {
    if (isUniqueViolation(err)) throw new NameTakenError(`template name ${name}`, { cause: err });
    throw err;
  };

/** The TemplateRepo over any Kysely handle. */
export function createPgTemplateStore(db: Kysely<Database>): TemplateRepo {
  return {
    async find(idOrName) {
      const row = await db
        .selectFrom("templates")
        .selectAll()
        .where(UUID_RE.test(idOrName) ? "id" : "name", "=", idOrName)
        .executeTakeFirst();
      return row && fromRow(row);
    },
    async list(limit, afterName) {
      let q = db.selectFrom("templates").selectAll();
      if (afterName !== undefined) q = q.where("name", ">", afterName);
      const rows = await q.orderBy("name").limit(limit).execute();
      return rows.map(fromRow);
    },
    async insert(id, t) {
      const row = await db
        .insertInto("templates")
        .values({ id, ...toColumns(t) })
        .returningAll()
        .executeTakeFirstOrThrow()
        .catch(nameTaken(t.name));
      return fromRow(row);
    },
    async update(id, t) {
      const row = await db
        .updateTable("templates")
        .set({ ...toColumns(t), update_time: new Date() })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst()
        .catch(nameTaken(t.name));
      return row && fromRow(row);
    },
    async delete(id) {
      const r = await db.deleteFrom("templates").where("id", "=", id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}

/**
 * Inserts the given templates into an empty table (store/seed.ts holds the defaults); returns
 * how many were inserted. ON CONFLICT (name) DO NOTHING makes racing pods safe, and the
 * emptiness check keeps a default an operator deleted gone.
 */
export async function insertTemplatesIfEmpty(
  db: Kysely<Database>,
  templates: TemplateInput[],
): Promise<number> {
  const existing = await db.selectFrom("templates").select("id").limit(1).execute();
  if (existing.length > 0) return 0;
  let inserted = 0;
  for (const t of templates) {
    const r = await db
      .insertInto("templates")
      .values({ id: randomUUID(), ...toColumns(t) })
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    inserted += Number(r.numInsertedOrUpdatedRows ?? 0n);
  }
  return inserted;
}
