/**
 * One error type for every failure the SDK reports, whatever the protocol (gRPC, gRPC-Web or
 * Connect) or the cause (server answer, network, abort): callers switch on `code` and show
 * `rawMessage`, which the control plane writes as a sentence a person can act on.
 */
import { Code, ConnectError } from "@connectrpc/connect";

export { Code };

/** The gRPC canonical names ("not_found", "unauthenticated", …), as the Connect protocol spells them. */
export type CodeName =
  | "canceled"
  | "unknown"
  | "invalid_argument"
  | "deadline_exceeded"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "resource_exhausted"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data_loss"
  | "unauthenticated";

const NAMES: Record<Code, CodeName> = {
  [Code.Canceled]: "canceled",
  [Code.Unknown]: "unknown",
  [Code.InvalidArgument]: "invalid_argument",
  [Code.DeadlineExceeded]: "deadline_exceeded",
  [Code.NotFound]: "not_found",
  [Code.AlreadyExists]: "already_exists",
  [Code.PermissionDenied]: "permission_denied",
  [Code.ResourceExhausted]: "resource_exhausted",
  [Code.FailedPrecondition]: "failed_precondition",
  [Code.Aborted]: "aborted",
  [Code.OutOfRange]: "out_of_range",
  [Code.Unimplemented]: "unimplemented",
  [Code.Internal]: "internal",
  [Code.Unavailable]: "unavailable",
  [Code.DataLoss]: "data_loss",
  [Code.Unauthenticated]: "unauthenticated",
};

/**
 * A failed call. It is still a ConnectError (code, rawMessage, metadata, details; `name` stays
 * "ConnectError" because connect-es recognises its errors by that name), so code that already
 * handles Connect errors keeps working; `codeName` is the stable string to log or match.
 */
export class StreamSpaceError extends ConnectError {
  readonly codeName: CodeName;

  /**
   * ConnectError answers `instanceof` by duck typing, which would make every ConnectError a
   * StreamSpaceError too; this class uses the prototype chain, so only normalised errors match.
   */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(StreamSpaceError, v);
  }

  constructor(message: string, code: Code, opts: { metadata?: HeadersInit; cause?: unknown } = {}) {
    super(message, code, opts.metadata, undefined, opts.cause);
    this.codeName = NAMES[code];
  }

  /** Normalises anything thrown by a call (ConnectError, AbortError, TypeError from fetch…). */
  static fromUnknown(err: unknown): StreamSpaceError {
    if (err instanceof StreamSpaceError) return err;
    const ce = ConnectError.from(err);
    return new StreamSpaceError(ce.rawMessage, ce.code, { metadata: ce.metadata, cause: err });
  }
}

/** True when `err` is a StreamSpaceError, and has `code` when one is given. */
export function isStreamSpaceError(err: unknown, code?: Code): err is StreamSpaceError {
  return err instanceof StreamSpaceError && (code === undefined || err.code === code);
}
