/**
 * The one table from domain errors to wire codes: Connect/gRPC and tRPC. Connect handlers and
 * tRPC procedures both go through it, so a wrong transition is FAILED_PRECONDITION on gRPC and
 * PRECONDITION_FAILED on tRPC, never INTERNAL on either.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { DomainError, type DomainErrorCode } from "../domain/errors.ts";

type TrpcCode =
  | "BAD_REQUEST"
  | "NOT_FOUND"
  | "CONFLICT"
  | "FORBIDDEN"
  | "UNAUTHORIZED"
  | "PRECONDITION_FAILED"
  | "TOO_MANY_REQUESTS"
  | "TIMEOUT"
  | "SERVICE_UNAVAILABLE"
  | "INTERNAL_SERVER_ERROR";

export const ERROR_TABLE: Record<DomainErrorCode, { connect: Code; trpc: TrpcCode }> = {
  invalid_argument: { connect: Code.InvalidArgument, trpc: "BAD_REQUEST" },
  not_found: { connect: Code.NotFound, trpc: "NOT_FOUND" },
  already_exists: { connect: Code.AlreadyExists, trpc: "CONFLICT" },
  permission_denied: { connect: Code.PermissionDenied, trpc: "FORBIDDEN" },
  unauthenticated: { connect: Code.Unauthenticated, trpc: "UNAUTHORIZED" },
  failed_precondition: { connect: Code.FailedPrecondition, trpc: "PRECONDITION_FAILED" },
  resource_exhausted: { connect: Code.ResourceExhausted, trpc: "TOO_MANY_REQUESTS" },
  aborted: { connect: Code.Aborted, trpc: "CONFLICT" },
  deadline_exceeded: { connect: Code.DeadlineExceeded, trpc: "TIMEOUT" },
  unavailable: { connect: Code.Unavailable, trpc: "SERVICE_UNAVAILABLE" },
  internal: { connect: Code.Internal, trpc: "INTERNAL_SERVER_ERROR" },
};

/**
 * Postgres connection failures (server restarting or gone, connection cut): the request may
 * succeed if retried in a moment, so callers hear UNAVAILABLE, the retryable code, instead of
 * INTERNAL. SQLSTATE classes 08 (connection exception) and 57P0x (operator intervention), 57014
 * (a statement cancelled at the pool's statement deadline), plus the driver's own socket errors
 * and its client-side query deadline ("Query read timeout", store/deadline-pool.ts).
 */
function databaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  const code = typeof e.code === "string" ? e.code : "";
  if (/^08|^57P0[1-3]$|^57014$|^ECONNREFUSED$|^ECONNRESET$|^ETIMEDOUT$/.test(code)) return true;
  const msg = typeof e.message === "string" ? e.message : "";
  if (
    /Connection terminated|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
      msg,
    )
  )
    return true;
  return e.cause !== undefined && e.cause !== err && databaseUnavailable(e.cause);
}

const DATABASE_UNAVAILABLE = "The database is unavailable right now; try again in a few seconds.";

/** Turns any thrown value into a ConnectError; unknown errors are logged, never sent. */
export function toConnectError(
  err: unknown,
  log: (msg: string, err: unknown) => void,
): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DomainError)
    return new ConnectError(err.message, ERROR_TABLE[err.code].connect);
  if (databaseUnavailable(err)) {
    log("database unavailable", err);
    return new ConnectError(DATABASE_UNAVAILABLE, Code.Unavailable);
  }
  log("unexpected error", err);
  return new ConnectError(
    "An internal error occurred; it has been logged. Try again.",
    Code.Internal,
  );
}

/** The tRPC code and message for any thrown value (the tRPC side wraps it in TRPCError). */
export function toTrpcShape(err: unknown): { code: TrpcCode; message: string } {
  if (err instanceof DomainError) return { code: ERROR_TABLE[err.code].trpc, message: err.message };
  if (databaseUnavailable(err))
    return { code: "SERVICE_UNAVAILABLE", message: DATABASE_UNAVAILABLE };
  return {
    code: "INTERNAL_SERVER_ERROR",
    message: "An internal error occurred; it has been logged. Try again.",
  };
}
