/**
 * Default templates for an empty database, so a fresh `npm start` can launch a desktop at once.
 * Idempotent across restarts and racing pods: each row is inserted with ON CONFLICT (name) DO
 * NOTHING, and only when the table is empty, so an operator who deleted a default keeps it gone.
 */
import type { Kysely } from "kysely";
import type { TemplateInput } from "../domain/types.ts";
import { insertTemplatesIfEmpty } from "./pg-template-store.ts";
import type { Database } from "./schema.ts";

const base: Omit<TemplateInput, "name" | "displayName" | "description" | "image" | "command"> = {
  vncPort: 0,
  resources: { cpuMillis: 500n, memoryBytes: 512n * 1024n * 1024n },
  env: {},
  idleTimeoutSeconds: 3600,
  persistentHome: false,
  platform: "local",
  region: "",
  requiredLabels: {},
};

/** The templates a fresh install offers. */
export const DEFAULT_TEMPLATES: TemplateInput[] = [
  {
    ...base,
    name: "demo-desktop",
    displayName: "Demo desktop",
    description: "A built-in animated desktop; needs nothing installed.",
    image: "builtin:demo",
    command: [],
  },
  {
    ...base,
    name: "xterm-desktop",
    displayName: "xterm on Xvfb",
    description: "An xterm on a virtual X display (needs Xvfb, x11vnc and xterm on the agent).",
    image: "xvfb",
    command: ["xterm"],
  },
];

/** Inserts the defaults into an empty templates table; returns how many were inserted. */
export function seedDefaultTemplates(db: Kysely<Database>): Promise<number> {
  return insertTemplatesIfEmpty(db, DEFAULT_TEMPLATES);
}
