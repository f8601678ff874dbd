/**
 * Where a call came from, for the audit log and the abuse limits, read the same way for
 * Connect and tRPC: the socket's peer address, and behind a proxy (HAProxy adds
 * X-Forwarded-For) the chain it names. The client's own x-request-id is kept when it is a
 * plain token, so a caller can find its call; otherwise the server makes one up.
 */
import { randomUUID } from "node:crypto";

/** The caller's address and the request id one call is known by. */
export interface Peer {
  source: string;
  requestId: string;
}

/** What both Node request types share that this needs. */
interface NodeRequestLike {
  socket?: { remoteAddress?: string } | null;
  headers: Record<string, string | string[] | undefined>;
}

const REQUEST_ID = /^[A-Za-z0-9._:#/-]{1,128}$/;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Reads the peer of a Node HTTP/1.1 or HTTP/2 request. */
export function peerOf(req: NodeRequestLike): Peer {
  const remote = req.socket?.remoteAddress ?? "";
  const forwarded = first(req.headers["x-forwarded-for"])?.slice(0, 200).trim();
  const id = first(req.headers["x-request-id"]);
  return {
    source: forwarded ? `${forwarded} via ${remote}` : remote,
    requestId: id && REQUEST_ID.test(id) ? id : randomUUID(),
  };
}
