/**
 * `@streamspace/sdk` in Node: gRPC over HTTP/2 by default, gRPC-Web and Connect over HTTP/1.1
 * (as a browser or an HTTP/1.1 proxy would send them) or HTTP/2 when asked.
 */
import type { Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import {
  type ClientOptions,
  createClientWith,
  type Protocol,
  type StreamSpaceClient,
  type TransportFactory,
} from "./client.ts";

export * from "./exports.ts";

export interface NodeClientOptions extends ClientOptions {
  /** HTTP version for gRPC-Web and Connect (gRPC is always HTTP/2); default "1.1". */
  httpVersion?: "1.1" | "2";
}

function nodeTransports(httpVersion: "1.1" | "2"): TransportFactory {
  return ({ baseUrl, protocol, interceptors }): Transport => {
    switch (protocol) {
      case "grpc":
        return createGrpcTransport({ baseUrl, interceptors });
      case "grpc-web":
        return createGrpcWebTransport({ baseUrl, httpVersion, interceptors });
      case "connect":
        return createConnectTransport({ baseUrl, httpVersion, interceptors });
      default:
        throw new TypeError(`Unknown protocol "${protocol satisfies never}".`);
    }
  };
}

/** A client for the control plane at `opts.baseUrl` (gRPC unless `protocol` says otherwise). */
export function createStreamSpaceClient(opts: NodeClientOptions): StreamSpaceClient {
  return createClientWith(nodeTransports(opts.httpVersion ?? "1.1"), "grpc", opts);
}

export type { Protocol };
