/**
 * The desktop in the page. Connects only while the session runs, shows the connection state
 * over the screen, and keeps keyboard focus in the desktop so typing goes where the user looks.
 * The toolbar names the desktop by its template's visible name (never the VNC server's own
 * "host:0"); a small overlay (the Stats button) shows the connection's quality; a banner warns before idle
 * hibernation; the clipboard panel moves text both ways.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { StateBadge } from "../components/ui.tsx";
import { useTRPC, useTRPCClient, wsOrigin } from "../trpc.ts";
import "./viewer.css";
import type { ViewerFigures } from "./viewer-meter.ts";
import { ClipboardPanel, IdleWarning, QoeOverlay, type SessionQoe } from "./viewer-overlays.tsx";
import { type ViewerSnapshot, VncConnection } from "./vnc-connection.ts";

const STATS_KEY = "streamspace.viewer.stats";

const NO_FIGURES: ViewerFigures = {
  framesPerSecond: 0,
  bytesInPerSecond: 0,
  bytesOutPerSecond: 0,
  timeToFirstFrameMs: 0,
  lastInputMs: 0,
};

export function VncViewer({
  sessionId,
  viewerPath,
  active,
  name,
}: {
  sessionId: string;
  viewerPath: string;
  active: boolean;
  /** The visible name: the session's, which defaults to its template's. */
  name: string;
}) {
  const client = useTRPCClient();
  const trpc = useTRPC();
  const screen = useRef<HTMLDivElement>(null);
  const conn = useRef<VncConnection | null>(null);
  const [snap, setSnap] = useState<ViewerSnapshot>({
    status: "idle",
    detail: "",
    connects: 0,
    desktopName: "",
    clipboard: "",
  });
  const [figures, setFigures] = useState<ViewerFigures>(NO_FIGURES);
  // Off until asked for, like a game stream's statistics; the choice is remembered.
  const [showStats, setShowStats] = useState(() => localStorage.getItem(STATS_KEY) === "1");
  useEffect(() => localStorage.setItem(STATS_KEY, showStats ? "1" : "0"), [showStats]);
  const [showClipboard, setShowClipboard] = useState(false);
  const qoe = useQuery(
    trpc.qoe.session.queryOptions({ id: sessionId }, { enabled: active, refetchInterval: 3_000 }),
  );
  const relay = qoe.data as SessionQoe | undefined;
  const [skewMs, setSkewMs] = useState(0);
  useEffect(() => {
    if (relay) setSkewMs(relay.serverTimeMs - Date.now());
  }, [relay]);

  useEffect(() => {
    if (!active || !screen.current) return;
    const c = new VncConnection({
      target: screen.current,
      socketUrl: `${wsOrigin()}${viewerPath}`,
      token: async () => (await client.sessions.viewerToken.mutate({ sessionId })).token,
      onChange: setSnap,
    });
    conn.current = c;
    const t = setInterval(() => setFigures(c.meter.sample()), 1_000);
    return () => {
      clearInterval(t);
      c.close();
      conn.current = null;
    };
  }, [active, sessionId, viewerPath, client]);

  // What the desktop copies is offered to the browser's clipboard too, where it allows.
  useEffect(() => {
    if (snap.clipboard) void navigator.clipboard?.writeText(snap.clipboard).catch(() => {});
  }, [snap.clipboard]);

  const status = active ? snap.status : "idle";
  const connected = status === "connected";
  return (
    <div className="viewer">
      <div className="viewer-bar">
        <StateBadge state={status === "idle" ? "disconnected" : status} />
        <span className="viewer-name" data-testid="viewer-name">
          {name}
        </span>
        {snap.detail && <span className="muted small">{snap.detail}</span>}
        <span className="spacer" />
        <button
          type="button"
          className="btn btn-small"
          aria-pressed={showStats}
          onClick={() => setShowStats((v) => !v)}
        >
          Stats
        </button>
        <button
          type="button"
          className="btn btn-small"
          aria-pressed={showClipboard}
          disabled={!connected}
          onClick={() => setShowClipboard((v) => !v)}
        >
          Clipboard
        </button>
        <button
          type="button"
          className="btn btn-small"
          disabled={!connected}
          onClick={() => conn.current?.sendCtrlAltDel()}
        >
          Ctrl+Alt+Del
        </button>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            void screen.current?.parentElement?.requestFullscreen?.().catch(() => {});
            conn.current?.focus();
          }}
        >
          Full screen
        </button>
      </div>
      <div className="viewer-stage">
        <div
          ref={screen}
          className="viewer-screen"
          data-testid="vnc-screen"
          data-vnc-status={status}
          data-vnc-connects={snap.connects}
        />
        {active && connected && (
          <IdleWarning
            idle={relay?.idle ?? null}
            skewMs={skewMs}
            lastInputMs={figures.lastInputMs}
          />
        )}
        {active && connected && showStats && (
          <QoeOverlay figures={figures} relay={relay} reconnects={Math.max(0, snap.connects - 1)} />
        )}
        {showClipboard && connected && (
          <ClipboardPanel
            remote={snap.clipboard}
            onSend={(text) => {
              conn.current?.paste(text);
              conn.current?.focus();
            }}
            onClose={() => setShowClipboard(false)}
          />
        )}
        {status !== "connected" && active && (
          <div className="viewer-overlay" role="status">
            <span className="spinner" aria-hidden="true" />
            <span>
              {status === "reconnecting" ? "Reconnecting…" : "Connecting to your desktop…"}
            </span>
          </div>
        )}
      </div>
    </div>
  );
}
