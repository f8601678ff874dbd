/**
 * The fleet view (operators): every session a relay measured recently, with its round trip,
 * frames and bytes per second, time to first frame, reconnects and a sparkline of the last
 * minutes, worst round trip first, so the session that feels bad is at the top. It polls
 * `qoe.fleet` every few seconds; the figures come from the relays (per-session figures never
 * go to Prometheus, whose labels stay bounded).
 */
import { useQuery } from "@tanstack/react-query";
import { Sparkline } from "../components/sparkline.tsx";
import { Empty, ErrorBox, Loading } from "../components/ui.tsx";
import { useTRPC } from "../trpc.ts";
import "../viewer/viewer.css";
import { formatRate } from "../viewer/viewer-meter.ts";

interface Point {
  rttMs: number;
  framesPerSecond: number;
}

const median = (xs: number[]) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

export function QualityPage() {
  const trpc = useTRPC();
  const q = useQuery(trpc.qoe.fleet.queryOptions(undefined, { refetchInterval: 5_000 }));
  if (q.isPending) return <Loading label="Loading session quality…" />;
  if (q.isError) return <ErrorBox error={q.error} onRetry={() => void q.refetch()} />;
  const watched = q.data.sessions.filter((s) => s.viewers > 0);
  const rows = [...q.data.sessions].sort((a, b) => b.viewers - a.viewers || b.rttMs - a.rttMs);
  return (
    <section>
      <div className="page-head">
        <h1>Session quality</h1>
        <p className="muted">
          Measured at the relays for every session with a viewer: round trip to the browser, frames
          and bytes per second, time to first frame and reconnects.
        </p>
      </div>
      <div className="fleet-summary" data-testid="fleet-summary">
        <div className="stat">
          <span className="muted small">Sessions watched</span>
          <strong data-testid="fleet-watched">{watched.length}</strong>
        </div>
        <div className="stat">
          <span className="muted small">Median round trip</span>
          <strong>{Math.round(median(watched.map((s) => s.rttMs)))} ms</strong>
        </div>
        <div className="stat">
          <span className="muted small">Streaming to viewers</span>
          <strong>{formatRate(watched.reduce((n, s) => n + s.bytesToViewerPerSecond, 0))}</strong>
        </div>
      </div>
      {rows.length === 0 ? (
        <Empty title="No session has had a viewer recently.">
          Figures appear here while someone has a desktop open.
        </Empty>
      ) : (
        <table className="table" data-testid="fleet-table">
          <thead>
            <tr>
              <th>Session</th>
              <th>Viewers</th>
              <th>Round trip</th>
              <th>Round trip, last minutes</th>
              <th>Frames/s</th>
              <th>To viewers</th>
              <th>First frame</th>
              <th>Reconnects</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.sessionId} data-session-id={s.sessionId}>
                <td>
                  <a href={`#/view/${encodeURIComponent(s.sessionId)}`}>
                    <code>{s.sessionId.slice(0, 8)}</code>
                  </a>
                </td>
                <td>{s.viewers}</td>
                <td>{s.rttMs ? `${Math.round(s.rttMs)} ms` : "—"}</td>
                <td>
                  <Sparkline
                    points={(s.history as Point[]).map((p) => p.rttMs)}
                    label={`Round trip of session ${s.sessionId.slice(0, 8)} over the last minutes`}
                  />
                </td>
                <td>{s.framesPerSecond.toFixed(1)}</td>
                <td>{formatRate(s.bytesToViewerPerSecond)}</td>
                <td>{s.timeToFirstFrameMs ? `${Math.round(s.timeToFirstFrameMs)} ms` : "—"}</td>
                <td>{s.reconnects}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
