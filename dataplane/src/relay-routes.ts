/**
 * The relay's plain HTTP routes: the kit's /health, /ready and /metrics, and
 * `/debug/sessions` (which sessions have an agent here), which exists only when
 * RELAY_DEBUG_TOKEN is set and answers only `authorization: Bearer <that token>`, since
 * session ids are not for whoever can reach the port; and `/activity`, each session's input
 * activity and QoE for the control plane (binary protobuf `SessionActivityReport`), which
 * answers only a token with the read audience (`verifyRelayReadToken`).
 */
import { timingSafeEqual } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { createHealthHandler } from "@streamspace/common/health";
import {
  type AnyResponse,
  pathOf,
  type RequestHandler,
  sendJson,
} from "@streamspace/common/listener";
import { TokenError, verifyRelayReadToken } from "@streamspace/common/viewer-token";
import {
  SessionActivityReportSchema,
  SessionActivitySchema,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import type { JWTVerifyGetKey } from "jose";
import type { AgentRegistry } from "./agent-registry.ts";
import type { Membership } from "./membership.ts";
import type { RelayMetrics } from "./metrics.ts";
import type { QoeBook } from "./session-qoe.ts";

export interface RelayRoutesDeps {
  relayId: string;
  metrics: RelayMetrics;
  registry: AgentRegistry;
  membership: () => Membership;
  /** Ready only once in the ring it routes by, and not while draining. */
  state: () => { draining: boolean; joined: boolean };
  debugToken?: string;
  qoe?: QoeBook;
  /** Verifies the control plane's read tokens for /activity. */
  keys?: JWTVerifyGetKey;
}

/** Every plain request the relay answers; anything else is a JSON 404. */
export function createRelayRoutes(deps: RelayRoutesDeps): RequestHandler {
  const health = createHealthHandler({
    health: () => ({
      relay: deps.relayId,
      viewers: deps.metrics.connectionsActive,
      agents: deps.registry.agents,
    }),
    ready: () => {
      const { draining, joined } = deps.state();
      const m = deps.membership();
      return {
        ready: !draining && joined && m.ready(),
        draining,
        inRing: m.ready(),
        epoch: m.ring().epoch.toString(),
      };
    },
    metrics: deps.metrics.registry,
  });
  const debug = deps.debugToken;
  return (req, res) => {
    void health(req, res).then((answered) => {
      if (answered) return;
      if (pathOf(req) === "/activity" && deps.qoe && deps.keys) {
        const { qoe, keys } = deps;
        return void verifyRelayReadToken(keys, req.headers.authorization).then(
          () => sendActivity(res, deps.relayId, qoe),
          (err: unknown) =>
            sendJson(res, 401, {
              error: err instanceof TokenError ? err.message : "read token rejected",
            }),
        );
      }
      if (pathOf(req) === "/debug/sessions" && debug) {
        if (!bearerMatches(req.headers.authorization, debug))
          return sendJson(res, 401, { error: "send 'authorization: Bearer <RELAY_DEBUG_TOKEN>'" });
        return sendJson(res, 200, {
          relay: deps.relayId,
          sessions: deps.registry.sessionIds().sort(),
        });
      }
      sendJson(res, 404, { error: "not found" });
    });
  };
}

function sendActivity(res: AnyResponse, relayId: string, qoe: QoeBook): void {
  const report = create(SessionActivityReportSchema, {
    relayId,
    timeUnixMs: BigInt(Date.now()),
    sessions: qoe.snapshot().map((s) =>
      create(SessionActivitySchema, {
        sessionId: s.sessionId,
        viewers: s.viewers,
        connects: s.connects,
        lastInputUnixMs: BigInt(s.lastInputMs),
        rttMs: s.rttMs,
        framesPerSecond: s.framesPerSecond,
        bytesToViewerPerSecond: BigInt(s.bytesToViewerPerSecond),
        bytesFromViewerPerSecond: BigInt(s.bytesFromViewerPerSecond),
        timeToFirstFrameMs: s.timeToFirstFrameMs,
      }),
    ),
  });
  const body = toBinary(SessionActivityReportSchema, report);
  res.writeHead(200, {
    "content-type": "application/proto",
    "content-length": body.length,
    "cache-control": "no-store",
  });
  res.end(body);
}

/** Constant-time comparison of an `authorization: Bearer …` header with the expected token. */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const got = Buffer.from(/^Bearer (.+)$/i.exec(header ?? "")?.[1] ?? "");
  const want = Buffer.from(expected);
  return got.length === want.length && timingSafeEqual(got, want);
}
