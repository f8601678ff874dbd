/**
 * Opens AgentGateway.Connect over gRPC on HTTP/2 (h2c for http://, TLS for https://). Each
 * dial gets its own HTTP/2 session so dropping a stream really drops the connection and the
 * next dial can reach another pod behind a balancer.
 */
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AgentGateway } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";

/** A client for one connection plus the way to tear that connection down. */
export interface GatewayConnection {
  client: Client<typeof AgentGateway>;
  close(): void;
}

/** Dials `baseUrl`; pings every 10 s so a dead pod is noticed without waiting for TCP. */
export function dialGateway(baseUrl: string): GatewayConnection {
  const sessionManager = new Http2SessionManager(baseUrl, {
    pingIntervalMs: 10_000,
    pingTimeoutMs: 5_000,
  });
  const transport = createGrpcTransport({ baseUrl, sessionManager });
  return { client: createClient(AgentGateway, transport), close: () => sessionManager.abort() };
}
