/**
 * `@streamspace/sdk` in a browser (bundlers pick this file through the "browser" export
 * condition): Connect or gRPC-Web over fetch. Plain gRPC needs HTTP/2 trailers, which browsers
 * do not expose, so asking for it is refused up front with a sentence saying what to use.
 */
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import {
  type ClientOptions,
  createClientWith,
  type Protocol,
  type StreamSpaceClient,
  type TransportFactory,
} from "./client.ts";

export * from "./exports.ts";

const webTransports: TransportFactory = ({ baseUrl, protocol, interceptors }): Transport => {
  switch (protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, interceptors });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, interceptors });
    case "grpc":
      throw new TypeError(
        'Browsers cannot speak plain gRPC; use protocol "connect" (the default) or "grpc-web".',
      );
    default:
      throw new TypeError(`Unknown protocol "${protocol satisfies never}".`);
  }
};

/** A client for the control plane at `opts.baseUrl` (Connect unless `protocol` says otherwise). */
export function createStreamSpaceClient(opts: ClientOptions): StreamSpaceClient {
  return createClientWith(webTransports, "connect", opts);
}

export type { Protocol };
