/**
 * A client's bytes that do not parse as the method's request message are INVALID_ARGUMENT,
 * never INTERNAL. connect-es reports a binary parse failure ("parse binary: premature EOF",
 * "invalid UTF-8") as Code.Internal, the code of a server fault, on all three protocols, and
 * before any interceptor runs for unary calls. So the refusal is corrected in two places:
 *
 *  - streaming calls read their request messages inside the interceptor chain, so
 *    `malformedInputInterceptor` maps the failure as the implementation reads the stream;
 *  - unary calls are parsed before the chain, so `answerMalformedInput` rewrites the finished
 *    response of a universal handler: the Connect protocol's JSON error body (HTTP 500 → 400),
 *    the gRPC trailer, and the gRPC-web trailer frame.
 *
 * Both recognise the failure by its code and its "parse binary:" prefix; the regression test
 * `regression/malformed-protobuf-answers-internal.test.ts` fails if a connect-es upgrade
 * changes either, rather than letting INTERNAL come back silently.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

const PARSE_PREFIX = "parse binary: ";

/** True for connect-es's report of request bytes that do not parse. */
export function isParseFailure(err: unknown): err is ConnectError {
  return (
    err instanceof ConnectError &&
    err.code === Code.Internal &&
    err.rawMessage.startsWith(PARSE_PREFIX)
  );
}

/** The sentence a caller reads: which message, what was wrong, what to do. */
export function malformedMessage(typeName: string, detail: string): string {
  return `The request is not a valid ${typeName} in protobuf binary (${detail}); encode it from the published proto, or send JSON.`;
}

/** Maps parse failures of streamed request messages (see the file comment). */
export const malformedInputInterceptor: Interceptor = (next) => async (req) => {
  if (!req.stream) return next(req);
  const input = req.message;
  const typeName = req.method.input.typeName;
  async function* checked() {
    try {
      yield* input;
    } catch (err) {
      if (!isParseFailure(err)) throw err;
      throw new ConnectError(
        malformedMessage(typeName, err.rawMessage.slice(PARSE_PREFIX.length)),
        Code.InvalidArgument,
      );
    }
  }
  return next({ ...req, message: checked() });
};

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Wraps a universal handler so a unary parse failure answers INVALID_ARGUMENT. */
export function answerMalformedInput(handler: UniversalHandler): UniversalHandler {
  if (handler.method.methodKind !== "unary") return handler;
  const typeName = handler.method.input.typeName;
  const fix = (raw: string) =>
    raw.startsWith(PARSE_PREFIX)
      ? malformedMessage(typeName, raw.slice(PARSE_PREFIX.length))
      : undefined;
  const wrapped = async (req: Parameters<UniversalHandler>[0]) => {
    const res = await handler(req);
    const type = res.header?.get("content-type") ?? "";
    if (res.status === 500 && type.startsWith("application/json")) return fixConnect(res, fix);
    if (type.startsWith("application/grpc-web")) return fixGrpcWeb(res, fix);
    if (type.startsWith("application/grpc")) return fixGrpc(res, fix);
    return res;
  };
  return Object.assign(wrapped, handler);
}

type Fix = (rawMessage: string) => string | undefined;

async function readAll(body: UniversalServerResponse["body"]): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  if (body instanceof Uint8Array) return body;
  const parts: Uint8Array[] = [];
  for await (const p of body as AsyncIterable<Uint8Array>) parts.push(p);
  return Buffer.concat(parts);
}

/** Connect unary: the error is the JSON body of an HTTP 500. */
async function fixConnect(
  res: UniversalServerResponse,
  fix: Fix,
): Promise<UniversalServerResponse> {
  const bytes = await readAll(res.body);
  const same = { ...res, body: single(bytes) };
  if (res.header?.get("content-encoding")) return same;
  let err: { code?: string; message?: string };
  try {
    err = JSON.parse(dec.decode(bytes));
  } catch {
    return same;
  }
  const message = err.code === "internal" ? fix(err.message ?? "") : undefined;
  if (!message) return same;
  const body = enc.encode(JSON.stringify({ code: "invalid_argument", message }));
  const header = new Headers(res.header);
  header.set("content-length", String(body.byteLength));
  return { ...res, status: 400, header, body: single(body) };
}

/** Rewrites grpc-status/grpc-message in place when they report a parse failure. */
function fixTrailer(trailer: Headers, fix: Fix): boolean {
  if (trailer.get("grpc-status") !== String(Code.Internal)) return false;
  const message = fix(decodeURIComponent(trailer.get("grpc-message") ?? ""));
  if (!message) return false;
  trailer.set("grpc-status", String(Code.InvalidArgument));
  trailer.set("grpc-message", encodeURIComponent(message));
  return true;
}

/** gRPC: the status is in the trailers, written after the body ends. */
function fixGrpc(res: UniversalServerResponse, fix: Fix): UniversalServerResponse {
  const trailer = res.trailer;
  if (!trailer) return res;
  fixTrailer(trailer, fix);
  const body = res.body as AsyncIterable<Uint8Array> | undefined;
  if (!body || body instanceof Uint8Array) return res;
  async function* thenFix() {
    yield* body as AsyncIterable<Uint8Array>;
    fixTrailer(trailer as Headers, fix);
  }
  return { ...res, body: thenFix() };
}

const TRAILER_FLAG = 0x80;
const COMPRESSED_FLAG = 0x01;

/** gRPC-web: the trailers are the body's last frame (flag 0x80), CRLF-separated fields. */
function fixGrpcWeb(res: UniversalServerResponse, fix: Fix): UniversalServerResponse {
  const body = res.body as AsyncIterable<Uint8Array> | undefined;
  if (!body || body instanceof Uint8Array) return res;
  async function* frames() {
    for await (const chunk of body as AsyncIterable<Uint8Array>)
      yield rewriteTrailerFrame(chunk, fix);
  }
  return { ...res, body: frames() };
}

function rewriteTrailerFrame(chunk: Uint8Array, fix: Fix): Uint8Array {
  const flags = chunk[0] ?? 0;
  if (!(flags & TRAILER_FLAG) || flags & COMPRESSED_FLAG || chunk.byteLength < 5) return chunk;
  const length = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(1);
  if (length + 5 !== chunk.byteLength) return chunk;
  const trailer = new Headers();
  for (const line of dec.decode(chunk.subarray(5)).split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) trailer.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  if (!fixTrailer(trailer, fix)) return chunk;
  let text = "";
  trailer.forEach((v, k) => {
    text += `${k}: ${v}\r\n`;
  });
  const data = enc.encode(text);
  const out = new Uint8Array(data.byteLength + 5);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.byteLength);
  out.set(data, 5);
  return out;
}

async function* single(bytes: Uint8Array) {
  yield bytes;
}
