/**
 * The one structured logger every process uses: pino underneath, JSON lines on stderr, so a
 * log shipper indexes fields (agent id, session id, command id) without parsing prose.
 *
 * The surface is deliberately smaller than pino's: message first, fields second, four levels
 * by name. Everything that crosses into a log line goes through one sanitiser, so secrets are
 * censored, bigints survive JSON and errors keep their stack and cause chain the same way in
 * every package.
 */
import pino from "pino";

/** Log levels in increasing severity; `level` in each line is this label. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The logging surface components take, so tests can silence or capture it. */
export interface Logger {
  debug(msg: string, fields?: object): void;
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  error(msg: string, fields?: object): void;
  /** A logger that adds `fields` to every line (component, agent id, session id). */
  child(fields: object): Logger;
}

/** Where lines go: a function receiving each JSON line (tests), or a writable stream. */
export type LogDestination = ((line: string) => void) | { write(line: string): unknown };

export interface LoggerOptions {
  /** Lines below this level are dropped before any field is touched. Default "info". */
  level?: LogLevel;
  /** Fields on every line (service, pod, relay id). */
  base?: object;
  /** Default: stderr, written synchronously so the last lines before a crash are not lost. */
  destination?: LogDestination;
}

const CENSORED = "[redacted]";

/**
 * Keys whose values never reach a log line. A key matches when, lower-cased and without
 * `-`/`_`, it ends with one of these (so `accessToken`, `x-streamspace-bootstrap-token`,
 * `jwtSecret`, `DB_PASSWORD` and `set-cookie` are all covered by one list).
 */
export const REDACTED_KEY_SUFFIXES: readonly string[] = [
  "password",
  "passwd",
  "passphrase",
  "token",
  "tokens",
  "secret",
  "secrets",
  "authorization",
  "cookie",
  "apikey",
  "jwt",
  "credential",
  "credentials",
  "privatekey",
  "signature",
];

/** True when a field with this name is censored in log lines. */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, "");
  return REDACTED_KEY_SUFFIXES.some((s) => k.endsWith(s));
}

// user:password@ in a URL (DATABASE_URL, REDIS_URL) is a secret wherever the field is named.
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^/@\s]*@/i;
// ?token=… in a logged path or URL (viewer tokens travel in the query string).
const QUERY_SECRET = /([?&][\w-]*(?:token|secret|password|jwt|api_?key)=)[^&#\s]*/gi;

function scrub(s: string): string {
  const t = URL_PASSWORD.test(s) ? s.replace(URL_PASSWORD, `$1:${CENSORED}@`) : s;
  return t.includes("=") ? t.replace(QUERY_SECRET, `$1${CENSORED}`) : t;
}
const MAX_DEPTH = 6;

function sanitiseError(err: Error, seen: WeakSet<object>, depth: number): unknown {
  const out: Record<string, unknown> = { name: err.name, message: scrub(err.message) };
  if (err.stack) out.stack = scrub(err.stack);
  // System errors carry code/errno/syscall/address; keep any own enumerable detail.
  for (const [k, v] of Object.entries(err)) {
    if (k !== "cause" && k !== "message" && k !== "stack") out[k] = sanitise(k, v, seen, depth + 1);
  }
  if (err instanceof AggregateError)
    out.errors = err.errors.map((e) => sanitise("", e, seen, depth + 1));
  if (err.cause !== undefined) out.cause = sanitise("cause", err.cause, seen, depth + 1);
  return out;
}

function sanitise(key: string, v: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (key && isSecretKey(key) && v !== undefined && v !== null && v !== "") return CENSORED;
  switch (typeof v) {
    case "bigint":
      return v.toString();
    case "string":
      return scrub(v);
    case "function":
    case "symbol":
      return String(v);
    case "object":
      break;
    default:
      return v;
  }
  if (v === null) return v;
  if (seen.has(v)) return "[circular]";
  if (depth > MAX_DEPTH) return "[nested too deep]";
  if (v instanceof Error) {
    seen.add(v);
    return sanitiseError(v, seen, depth);
  }
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `[${v.byteLength} bytes]`;
  seen.add(v);
  if (v instanceof Map) return sanitise(key, Object.fromEntries(v), seen, depth + 1);
  if (v instanceof Set) return sanitise(key, [...v], seen, depth + 1);
  if (Array.isArray(v)) return v.map((x) => sanitise("", x, seen, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = sanitise(k, x, seen, depth + 1);
  return out;
}

/** Applies the redaction list and the bigint/error rules to one set of fields. */
export function sanitiseFields(fields: object | undefined): Record<string, unknown> {
  if (!fields) return {};
  return sanitise("", fields, new WeakSet(), 0) as Record<string, unknown>;
}

function wrap(p: pino.Logger): Logger {
  const at =
    (level: LogLevel) =>
    (msg: string, fields?: object): void => {
      if (!p.isLevelEnabled(level)) return;
      p[level](sanitiseFields(fields), msg);
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => wrap(p.child(sanitiseFields(fields))),
  };
}

/** A logger writing JSON lines (`time`, `level` label, `msg`, base fields, fields). */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const d = opts.destination;
  const destination =
    d === undefined
      ? pino.destination({ dest: 2, sync: true })
      : typeof d === "function"
        ? { write: (line: string) => d(line) }
        : d;
  const p = pino(
    {
      level: opts.level ?? "info",
      base: sanitiseFields(opts.base),
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Fields are already sanitised; pino's own `err` serializer would rewrite the message.
      serializers: { err: (v: unknown) => v },
    },
    destination,
  );
  return wrap(p);
}

/** A logger that drops everything; for tests that assert behaviour, not output. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
