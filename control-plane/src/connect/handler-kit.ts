/**
 * Shared plumbing for the core Connect handlers: read the caller from the context and send
 * every failure through the one error table, so no handler can leak an INTERNAL with a stack
 * or invent its own code.
 */
import type { HandlerContext } from "@connectrpc/connect";
import type { Principal } from "../domain/principal.ts";
import { toConnectError } from "../edge/error-table.ts";
import { principalKey } from "./principal-context.ts";

/** Logs unexpected errors (their cause stays on the server). */
export type ErrorLog = (msg: string, err: unknown) => void;

/** Default: one JSON line on stderr. */
export const stderrLog: ErrorLog = (msg, err) => {
  const detail =
    err instanceof Error
      ? { error: err.message, cause: String(err.cause ?? "") }
      : { error: String(err) };
  process.stderr.write(
    `${JSON.stringify({ level: "error", component: "connect", msg, ...detail })}\n`,
  );
};

/** The principal the auth interceptor put on the context (ANONYMOUS if none). */
export const principalOf = (ctx: HandlerContext): Principal => ctx.values.get(principalKey);

/** Runs a unary handler body and maps any thrown value to a ConnectError. */
export async function guard<T>(log: ErrorLog, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toConnectError(err, log);
  }
}

/** The same for server-streaming bodies. */
export async function* guardStream<T>(
  log: ErrorLog,
  gen: () => AsyncIterable<T>,
): AsyncIterable<T> {
  try {
    yield* gen();
  } catch (err) {
    throw toConnectError(err, log);
  }
}
