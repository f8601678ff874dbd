/**
 * The public port's Connect handler: connect-node's adapter, plus two things the library leaves
 * to us: a request whose bytes do not parse is the client's mistake (INVALID_ARGUMENT), not a
 * server fault (malformed-input.ts), and every call carries its peer (address, request id) in
 * its context values for the audit log and the abuse limits. Options are connect-node's own,
 * so swapping connectNodeAdapter for this is one word at the call site.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError, createConnectRouter, createContextValues } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  type ConnectNodeAdapterOptions,
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { peerOf } from "../edge/peer.ts";
import { answerMalformedInput, malformedInputInterceptor } from "./malformed-input.ts";
import { peerKey } from "./peer-context.ts";

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

/** connect-node's options, plus where handler failures that could not be answered are told. */
export interface ConnectNodeHandlerOptions extends ConnectNodeAdapterOptions {
  onError?: (msg: string, err: unknown) => void;
}

/** Builds the request handler. */
export function createConnectNodeHandler(
  options: ConnectNodeHandlerOptions,
): (req: NodeRequest, res: NodeResponse) => void {
  const onError = options.onError ?? ((msg, err) => console.error(msg, err));
  const router = createConnectRouter({
    ...options,
    acceptCompression: options.acceptCompression ?? [compressionGzip, compressionBrotli],
    // Outermost, so every later interceptor already sees the corrected refusal.
    interceptors: [malformedInputInterceptor, ...(options.interceptors ?? [])],
  });
  options.routes(router);
  const prefix = options.requestPathPrefix ?? "";
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(prefix + h.requestPath, answerMalformedInput(h));
  return (req, res) => {
    const handler = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (!handler) {
      if (options.fallback) options.fallback(req, res);
      else {
        res.writeHead(404);
        res.end();
      }
      return;
    }
    // Every call knows its peer (audit log, abuse limits), read once from the socket.
    const values = options.contextValues?.(req) ?? createContextValues();
    values.set(peerKey, peerOf(req as never));
    const uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, values);
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res as never))
      .catch((reason) => {
        // A client that went away mid-call is not a failure worth a log line.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        onError(
          `handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`,
          reason,
        );
      });
  };
}
