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

/** The xterm gets a window manager, so keys reach it wherever the pointer is. */
export const XTERM_ENV = { SS_WINDOW_MANAGER: "openbox" };

/**
 * The full desktop and the browser; an existing install gets them from migration
 * 0006-desktops-templates (only where missing), a fresh one from the seed below.
 */
export const DESKTOP_TEMPLATES: TemplateInput[] = [
  {
    ...base,
    name: "desktop",
    displayName: "Linux desktop",
    description: "A light desktop: windows, a panel with a clock, a terminal and a file manager.",
    image: "xvfb",
    command: ["streamspace-desktop"],
    resources: { cpuMillis: 1000n, memoryBytes: 1024n * 1024n * 1024n },
  },
  {
    ...base,
    name: "web-browser",
    displayName: "Web browser",
    description: "Chromium, full screen and nothing else, like a kiosk.",
    image: "xvfb",
    command: ["streamspace-browser"],
    env: { SS_BROWSER_URL: "https://www.debian.org/" },
    resources: { cpuMillis: 1000n, memoryBytes: 1536n * 1024n * 1024n },
  },
];

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
    displayName: "Terminal",
    description:
      "An xterm with a window manager on a virtual X display (Xvfb, x11vnc, xterm, openbox).",
    image: "xvfb",
    command: ["xterm"],
    env: XTERM_ENV,
  },
  ...DESKTOP_TEMPLATES,
];

/** Inserts the defaults into an empty templates table; returns how many were inserted. */
export function seedDefaultTemplates(db: Kysely<Database>): Promise<number> {
  return insertTemplatesIfEmpty(db, DEFAULT_TEMPLATES);
}
