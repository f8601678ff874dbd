/**
 * The context key carrying the caller's peer (edge/peer.ts) from the Node request, where the
 * Connect handler reads the socket, to the interceptors that audit and limit calls.
 */
import { createContextKey } from "@connectrpc/connect";
import type { Peer } from "../edge/peer.ts";

/** Set by createConnectNodeHandler for every call; empty in in-process (router) transports. */
export const peerKey = createContextKey<Peer>(
  { source: "", requestId: "" },
  { description: "the caller's address and request id" },
);
