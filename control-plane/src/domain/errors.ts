/**
 * Domain errors: the one vocabulary every layer speaks. Transports never invent codes; they map
 * these through edge/error-table.ts, so Connect and tRPC callers see the same meaning.
 */
export type DomainErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "unauthenticated"
  | "failed_precondition"
  | "resource_exhausted"
  | "aborted"
  | "deadline_exceeded"
  | "unavailable"
  | "internal";

/** A failure a caller can act on; `message` is a full sentence that says what to do. */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const invalidArgument = (msg: string) => new DomainError("invalid_argument", msg);
export const notFound = (msg: string) => new DomainError("not_found", msg);
export const permissionDenied = (msg: string) => new DomainError("permission_denied", msg);
export const unauthenticated = (msg: string) => new DomainError("unauthenticated", msg);
export const failedPrecondition = (msg: string) => new DomainError("failed_precondition", msg);
