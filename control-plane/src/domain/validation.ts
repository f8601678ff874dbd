/**
 * One zod schema per operation, shared by the Connect handlers (through the domain services)
 * and the tRPC procedures (as their input parsers, trpc/domain-input.ts), so both transports
 * refuse the same inputs with the same words. A failure becomes
 * DomainError("invalid_argument", "<field>: <what to fix>") naming the proto (snake_case) field.
 * Optional fields carry their defaults here, so a browser may leave out what a proto always
 * sends (an empty string, zero, an empty list) and both roads see the same request.
 */
import { z } from "zod";
import { DomainError } from "./errors.ts";
import { AGENT_STATES, type AgentState, SESSION_STATES, type SessionState } from "./types.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$/;

/** Largest page a caller may ask for; bigger pages would let one call hog a connection. */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

const sessionId = z.string().regex(UUID, "must be a session id (a UUID)");
const agentId = z
  .string()
  .regex(AGENT_ID, "must be an agent id (letters, digits, '.', '_' or '-', at most 128)");
const pageSize = z
  .number()
  .int()
  .min(0, `must be between 0 and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})`)
  .max(MAX_PAGE_SIZE, `must be between 0 and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})`)
  .default(0);
const pageToken = z
  .string()
  .max(512, "is too long; pass back next_page_token unchanged")
  .default("");
const labels = z
  .record(
    z.string().regex(LABEL_KEY, "keys must be label names (letters, digits, '.', '_', '/', '-')"),
    z.string().max(256, "values must be at most 256 characters"),
  )
  .refine((m) => Object.keys(m).length <= 32, "at most 32 labels");
const shortText = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const optionalText = (max: number) => shortText(max).default("");
/** Connect hands int64 fields over as bigints, the browser's JSON as numbers; both mean one thing. */
const wholeNumber = z
  .union([z.bigint(), z.number().int()], { error: "must be a whole number" })
  .transform((v) => BigInt(v));
const templateName = z.string().min(1, "name a template (its id or name)").max(128, "is too long");

export const schemas = {
  sessionId: z.object({ id: sessionId }),
  agentId: z.object({ id: agentId }),
  createSession: z.object({
    template: templateName,
    displayName: optionalText(128),
    region: optionalText(64),
    labels: labels.default({}),
  }),
  listSessions: z.object({
    pageSize,
    pageToken,
    states: z
      .array(z.enum(SESSION_STATES as [SessionState, ...SessionState[]]))
      .max(10, "at most 10 states")
      .default([]),
    ownerId: optionalText(128),
    /** The caller's own sessions only: what a "my sessions" view asks without knowing its id. */
    mine: z.boolean().default(false),
    agentId: z.union([z.literal(""), agentId]).default(""),
    templateId: z
      .union([z.literal(""), z.string().regex(UUID, "must be a template id (a UUID)")])
      .default(""),
  }),
  viewerToken: z.object({ sessionId }),
  watchSessions: z.object({ sessionId: z.union([z.literal(""), sessionId]).default("") }),
  listAgents: z.object({
    pageSize,
    pageToken,
    states: z
      .array(z.enum(AGENT_STATES as [AgentState, ...AgentState[]]))
      .max(5, "at most 5 states")
      .default([]),
  }),
  listTemplates: z.object({ pageSize, pageToken }),
  listAuditEvents: z.object({
    pageSize,
    pageToken,
    actorId: optionalText(128),
    action: optionalText(64),
    targetId: optionalText(256),
  }),
  templateRef: z.object({ id: templateName }),
  template: z.object({
    name: z
      .string()
      .regex(NAME, "must be lowercase letters, digits and '-', 1 to 63, e.g. \"xfce-desktop\""),
    displayName: shortText(128),
    description: shortText(2000),
    image: z.string().min(1, "is required (a container image, program or builtin:demo)").max(512),
    command: z.array(shortText(1024)).max(64, "at most 64 arguments"),
    vncPort: z
      .number()
      .int()
      .min(0)
      .max(65535, "must be a TCP port 0..65535 (0 lets the driver pick)"),
    resources: z.object({
      cpuMillis: wholeNumber.pipe(
        z.bigint().min(0n, "must not be negative").max(1_000_000n, "is too large"),
      ),
      memoryBytes: wholeNumber.pipe(
        z
          .bigint()
          .min(0n, "must not be negative")
          .max(1n << 44n, "is too large"),
      ),
    }),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "keys must be variable names"),
        shortText(4096),
      )
      .refine((m) => Object.keys(m).length <= 128, "at most 128 variables"),
    idleTimeoutSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86400, "must be at most 30 days"),
    persistentHome: z.boolean(),
    platform: z.enum(["", "local", "docker", "kubernetes"]),
    region: shortText(64),
    requiredLabels: labels,
  }),
};

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The path of the first string (value or map key) holding U+0000, or undefined. Postgres text
 * and jsonb cannot store NUL, so such a string would fail in SQL as a server error; it is the
 * caller's mistake and is refused here, once, for every operation.
 */
export function nulPath(input: unknown, path: string[] = [], depth = 0): string[] | undefined {
  if (typeof input === "string") return input.includes("\u0000") ? path : undefined;
  if (depth > 8 || input === null || typeof input !== "object") return undefined;
  if (input instanceof Uint8Array || input instanceof Date) return undefined;
  for (const [k, v] of Object.entries(input)) {
    const here = [...path, Array.isArray(input) ? `[${k}]` : snake(k)];
    if (k.includes("\u0000")) return here;
    const found = nulPath(v, here, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Text an agent reports (a reason, an endpoint, an error message) made storable: NUL, which
 * Postgres text cannot hold, becomes U+FFFD. Reports are not refused for it: a desktop's exit
 * reason must not cost the agent its stream.
 */
export function storable(s: string): string {
  return s.includes("\u0000") ? s.replaceAll("\u0000", "\ufffd") : s;
}

/** Parses input or throws invalid_argument naming the first bad field and what to fix. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const nul = nulPath(input);
  if (nul) {
    const field = nul.join(".").replace(/\.\[/g, "[") || "request";
    throw new DomainError(
      "invalid_argument",
      `${field}: must not contain NUL characters (U+0000).`,
    );
  }
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.map((p) => snake(String(p))).join(".") || "request";
  throw new DomainError("invalid_argument", `${field}: ${issue?.message ?? "is invalid"}.`);
}

/** True for strings shaped like our UUID ids; used before hitting a uuid column. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/**
 * UpdateTemplate as the browser sends it: the template's fields beside its id, in one object.
 * The service still checks the id (a UUID) with the same sentence the Connect road gives.
 */
export const templateUpdate = schemas.template.extend({ id: z.string().max(128, "is too long") });
