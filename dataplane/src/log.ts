/**
 * Structured JSON log lines on stderr, one object per line, so operators can ship relay logs
 * as they are. Kept local: the relay must not import the control plane's logger.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The small logging surface the relay and the agent's relay links use. */
export interface RelayLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function flatten(v: unknown): unknown {
  if (!(v instanceof Error)) return typeof v === "bigint" ? v.toString() : v;
  return {
    name: v.name,
    message: v.message,
    cause: v.cause === undefined ? undefined : flatten(v.cause),
  };
}

/** A logger at or above `level`; `base` fields (relay id) go on every line. */
export function createRelayLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
): RelayLogger {
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const out: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: lvl,
      msg,
      ...base,
    };
    for (const [k, v] of Object.entries(fields ?? {})) out[k] = flatten(v);
    process.stderr.write(`${JSON.stringify(out)}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
