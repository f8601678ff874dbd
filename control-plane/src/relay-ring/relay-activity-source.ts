/**
 * Reads each relay's per-session activity (GET /activity, binary `SessionActivityReport`, with
 * a short-lived read token) and merges sessions seen on several relays (during a ring change a
 * session's viewers can sit on two): viewers, connects, frames and bytes add up; the last input
 * and the worst round trip win. A relay that does not answer within the deadline makes the
 * read incomplete, so the idle sweep waits rather than act on missing input.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { SessionActivityReportSchema } from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import type { ActivitySource, RelayActivity } from "../domain/session-activity.ts";
import type { RelayRingSource } from "../gateway/relay-ring-source.ts";

/** Reads every ring member; `token` signs a fresh read token (5 minutes). */
export function createRelayActivitySource(opts: {
  ring: RelayRingSource;
  token: () => Promise<string>;
  timeoutMs?: number;
}): ActivitySource {
  let cached: { token: string; until: number } | undefined;
  const token = async () => {
    if (!cached || cached.until < Date.now()) {
      cached = { token: await opts.token(), until: Date.now() + 120_000 };
    }
    return cached.token;
  };
  return {
    async read() {
      const members = opts.ring.current().members;
      if (members.length === 0) return { sessions: [], complete: true };
      const bearer = `Bearer ${await token()}`;
      const reads = await Promise.allSettled(
        members.map(async (m) => {
          const res = await fetch(`${m.url}/activity`, {
            headers: { authorization: bearer },
            signal: AbortSignal.timeout(opts.timeoutMs ?? 2_000),
          });
          if (res.status !== 200)
            throw new Error(`relay ${m.id} answered ${res.status}: ${await res.text()}`);
          return fromBinary(SessionActivityReportSchema, new Uint8Array(await res.arrayBuffer()));
        }),
      );
      const merged = new Map<string, RelayActivity>();
      let complete = true;
      for (const r of reads) {
        if (r.status === "rejected") {
          complete = false;
          continue;
        }
        for (const s of r.value.sessions) {
          const a: RelayActivity = {
            sessionId: s.sessionId,
            viewers: s.viewers,
            connects: s.connects,
            lastInputMs: Number(s.lastInputUnixMs),
            rttMs: s.rttMs,
            framesPerSecond: s.framesPerSecond,
            bytesToViewerPerSecond: Number(s.bytesToViewerPerSecond),
            bytesFromViewerPerSecond: Number(s.bytesFromViewerPerSecond),
            timeToFirstFrameMs: s.timeToFirstFrameMs,
          };
          const b = merged.get(a.sessionId);
          merged.set(
            a.sessionId,
            b
              ? {
                  sessionId: a.sessionId,
                  viewers: a.viewers + b.viewers,
                  connects: a.connects + b.connects,
                  lastInputMs: Math.max(a.lastInputMs, b.lastInputMs),
                  rttMs: Math.max(a.rttMs, b.rttMs),
                  framesPerSecond: a.framesPerSecond + b.framesPerSecond,
                  bytesToViewerPerSecond: a.bytesToViewerPerSecond + b.bytesToViewerPerSecond,
                  bytesFromViewerPerSecond: a.bytesFromViewerPerSecond + b.bytesFromViewerPerSecond,
                  timeToFirstFrameMs: a.timeToFirstFrameMs || b.timeToFirstFrameMs,
                }
              : a,
          );
        }
      }
      return { sessions: [...merged.values()], complete };
    },
  };
}
