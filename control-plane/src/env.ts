/**
 * Environment parsing that stops the process with one line naming the variable and what it
 * expected (DESIGN.md §7), instead of failing later with a stack trace far from the cause.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/** A non-empty string, or the fallback when unset. */
export function str(env: Env, name: string, fallback?: string): string {
  const v = env[name];
  if (v === undefined || v === "") {
    if (fallback === undefined) throw new ConfigError(`${name} is required but not set.`);
    return fallback;
  }
  return v;
}

export function optStr(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

/** An integer within [min, max]. */
export function int(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${name}="${v}" is not valid: expected a whole number from ${min} to ${max}.`,
    );
  }
  return n;
}

/** true/false/1/0/yes/no. */
export function bool(env: Env, name: string, fallback: boolean): boolean {
  const v = env[name]?.toLowerCase();
  if (v === undefined || v === "") return fallback;
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(`${name}="${env[name]}" is not valid: expected true or false.`);
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`${name}="${v}" is not valid: expected one of ${allowed.join(", ")}.`);
  }
  return v as T;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration such as "250ms", "30s", "5m", "1h" or a bare number of seconds; in milliseconds. */
export function duration(env: Env, name: string, fallbackMs: number): number {
  const v = env[name];
  if (v === undefined || v === "") return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m)
    throw new ConfigError(
      `${name}="${v}" is not valid: expected a duration like 30s, 500ms or 5m.`,
    );
  return Math.round(Number(m[1]) * UNITS[m[2] ?? "s"]!);
}

/** A URL with one of the given protocols. */
export function url(env: Env, name: string, protocols: string[], fallback?: string): string {
  const v = str(env, name, fallback);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(
      `${name}="${v}" is not valid: expected a URL like ${protocols[0]}//host:port.`,
    );
  }
  if (!protocols.includes(u.protocol)) {
    throw new ConfigError(`${name}="${v}" is not valid: expected a ${protocols.join(" or ")} URL.`);
  }
  return v;
}
