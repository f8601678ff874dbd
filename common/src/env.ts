/**
 * Environment parsing with zod (DESIGN.md §7): a process validates all of its configuration at
 * start-up and a missing or malformed value stops it with ONE line that names the variable
 * and says what was expected, instead of failing later far from the cause.
 *
 * A shape maps variable names to schemas; the builders below carry their own "expected …"
 * wording so every deployable's errors read the same. Values of secret variables (named like
 * the logger's redaction list: `JWT_SECRET`, `DB_PASSWORD`, `…_TOKEN`) never appear in errors. Unset and empty are the same thing
 * (container env files cannot unset a variable, only blank it).
 */
import { z } from "zod";
import { isSecretKey } from "./log.ts";

/** One bad variable (or combination); `message` is the complete line an operator reads. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    /** The variable at fault, when there is one. */
    readonly variable?: string,
  ) {
    super(message);
  }

  /**
   * The standard wording: `NAME="raw" is not valid: expected <expected>.` A secret's value is
   * left out (`NAME is not valid: …`): the line goes to logs.
   */
  static invalid(
    variable: string,
    raw: string | undefined,
    expected: string,
    opts: { secret?: boolean } = {},
  ): ConfigError {
    const what =
      raw === undefined
        ? " is required but not set"
        : opts.secret
          ? " is not valid"
          : `=${JSON.stringify(raw)} is not valid`;
    return new ConfigError(`${variable}${what}: expected ${expected}.`, variable);
  }
}

/** A schema for one variable: it receives the raw string, or undefined when unset or empty. */
export type EnvSchema = z.ZodType;
/** Variable name → schema. */
export type EnvShape = Record<string, EnvSchema>;
/** The typed result of parsing a shape. */
export type EnvOf<S extends EnvShape> = { [K in keyof S]: z.output<S[K]> };

/**
 * A required string parsed by `parse`, which returns undefined for a bad value; `expected`
 * completes "expected …" in the error. The base for every builder here, and for one-off
 * formats (label lists, quantities) in a deployable's own config.
 */
export function custom<T>(expected: string, parse: (raw: string) => T | undefined) {
  return z.string({ error: expected }).transform((raw, ctx): T => {
    const v = parse(raw.trim());
    if (v === undefined) {
      ctx.issues.push({ code: "custom", message: expected, input: raw });
      return z.NEVER;
    }
    return v;
  });
}

/** Any non-empty string; `pattern` restricts it (ids, names), `expected` describes it. */
export function str(opts: { pattern?: RegExp; expected?: string } = {}) {
  const expected = opts.expected ?? "a non-empty value";
  return custom(expected, (s) =>
    s !== "" && (!opts.pattern || opts.pattern.test(s)) ? s : undefined,
  );
}

/** A whole number within [min, max]. */
export function int(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return custom(`a whole number from ${min} to ${max}`, (s) => {
    if (!/^-?\d+$/.test(s)) return undefined;
    const n = Number(s);
    return n >= min && n <= max ? n : undefined;
  });
}

/** A TCP port; 0 lets the OS pick one (tests). */
export function port() {
  return int(0, 65_535);
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

/** true/false, 1/0, yes/no, on/off (any case). */
export function bool() {
  return custom("true or false", (s) => {
    const v = s.toLowerCase();
    return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
  });
}

/** One of a fixed set of words, exactly as written. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return custom(`one of ${values.join(", ")}`, (s) =>
    (values as readonly string[]).includes(s) ? (s as T[number]) : undefined,
  );
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses the one duration syntax: a number and a unit (`500ms`, `1.5s`, `5m`, `2h`, `1d`), in
 * milliseconds. A bare number is refused unless `bareUnit` says what it means, because "30"
 * read as seconds by one process and milliseconds by another is how timeouts go wrong.
 */
export function parseDuration(raw: string, bareUnit?: keyof typeof UNIT_MS): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) return undefined;
  const unit = (m[2] as keyof typeof UNIT_MS | undefined) ?? bareUnit;
  if (!unit) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[unit]);
}

/** A duration in milliseconds (see parseDuration); `min` (ms) rejects zero or tiny values. */
export function duration(opts: { min?: number; bareUnit?: keyof typeof UNIT_MS } = {}) {
  const min = opts.min ?? 0;
  const bare = opts.bareUnit ? ` (a bare number is ${opts.bareUnit})` : "";
  const floor = min > 0 ? ` of at least ${min} ms` : "";
  return custom(`a duration such as 500ms, 30s, 5m, 2h or 1d${floor}${bare}`, (s) => {
    const ms = parseDuration(s, opts.bareUnit);
    return ms !== undefined && ms >= min ? ms : undefined;
  });
}

/** A URL whose scheme is one of `protocols` (with the colon: "redis:"); kept as written. */
export function url(protocols: readonly string[] = ["http:", "https:"]) {
  const schemes = protocols.map((p) => `${p}//`).join(" or ");
  return custom(`a ${schemes} URL`, (s) =>
    URL.canParse(s) && protocols.includes(new URL(s).protocol) ? s : undefined,
  );
}

/**
 * A comma-separated list; items are trimmed and blanks dropped. Each item must pass `item`'s
 * parser (a builder such as `url()` or `str()`); at least `min` items.
 */
export function list<T = string>(
  item?: z.ZodType<T, string>,
  opts: { min?: number; expected?: string } = {},
) {
  const min = opts.min ?? 0;
  const inner = item;
  const each = inner ? `, each ${describe(inner)}` : "";
  const atLeast = min > 0 ? ` (at least ${min})` : "";
  const expected = opts.expected ?? `a comma-separated list${each}${atLeast}`;
  return custom(expected, (s) => {
    const parts = s
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    if (parts.length < min) return undefined;
    const out: T[] = [];
    for (const p of parts) {
      if (!inner) {
        out.push(p as T);
        continue;
      }
      const r = inner.safeParse(p);
      if (!r.success) return undefined;
      out.push(r.data);
    }
    return out;
  });
}

function describe(schema: z.ZodType): string {
  const r = schema.safeParse(undefined);
  return r.success ? "a value" : (r.error.issues[0]?.message ?? "a value");
}

/**
 * Parses every variable of `shape` from `env`; returns the typed object or throws ConfigError
 * for the first bad variable (in shape order), naming it and what it expected.
 */
export function parseEnv<S extends EnvShape>(
  shape: S,
  env: Record<string, string | undefined> = process.env,
): EnvOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(shape)) {
    const raw = env[name] === "" ? undefined : env[name];
    const r = schema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw ConfigError.invalid(name, raw, issue?.message ?? "a valid value", {
        secret: isSecretKey(name),
      });
    }
    out[name] = r.data;
  }
  return out as EnvOf<S>;
}

/**
 * Runs a configuration loader; on ConfigError prints its one line on stderr (after `prefix:`,
 * when given) and exits with status 2. Other errors are bugs and propagate.
 */
export function exitOnConfigError<T>(load: () => T, prefix?: string): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${prefix ? `${prefix}: ` : ""}${err.message}\n`);
    process.exit(2);
  }
}

/** parseEnv, or the one-line message and exit status 2. */
export function loadEnvOrExit<S extends EnvShape>(
  shape: S,
  env: Record<string, string | undefined> = process.env,
  prefix?: string,
): EnvOf<S> {
  return exitOnConfigError(() => parseEnv(shape, env), prefix);
}
