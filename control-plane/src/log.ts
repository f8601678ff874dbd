/**
 * Structured JSON logs, one object per line on stderr, so operators can ship them as they are.
 * Errors are flattened with their cause chain because `cause` is where the reason usually is.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

function serialiseError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 4) return err;
  return {
    name: err.name,
    message: err.message,
    stack: err.stack?.split("\n").slice(1, 6).join("\n"),
    cause: err.cause === undefined ? undefined : serialiseError(err.cause, depth + 1),
  };
}

/** A logger writing JSON lines to `write` (stderr by default) at or above `level`. */
export function createLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const out: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: lvl,
      msg,
      ...base,
    };
    for (const [k, v] of Object.entries(fields ?? {}))
      out[k] = v instanceof Error ? serialiseError(v) : v;
    write(`${JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}
