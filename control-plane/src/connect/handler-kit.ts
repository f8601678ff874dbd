/**
 * Shared plumbing for the core Connect handlers: read the caller from the context and send
 * every failure through the one error table, so no handler can leak an INTERNAL with a stack
 * or invent its own code.
 */
import type { HandlerContext } from "@connectrpc/connect";
import { createLogger } from "@streamspace/common/log";
import type { Principal } from "../domain/principal.ts";
import { toConnectError } from "../edge/error-table.ts";
import { principalKey } from "./principal-context.ts";

/** Logs unexpected errors (their cause stays on the server). */
export type ErrorLog = (msg: string, err: unknown) => void;

const fallbackLog = createLogger({ base: { component: "connect" } });

/** Default when the composition root passes none: the kit logger, error with cause chain. */
export const stderrLog: ErrorLog = (msg, err) => fallbackLog.error(msg, { err });

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
