/**
 * The desktop in the page. Connects only while the session runs, shows the connection state
 * over the screen, and keeps keyboard focus in the desktop so typing goes where the user looks.
 */
import { useEffect, useRef, useState } from "react";
import { StateBadge } from "../components/ui.tsx";
import { useTRPCClient, wsOrigin } from "../trpc.ts";
import { type ViewerSnapshot, VncConnection } from "./vnc-connection.ts";

export function VncViewer({
  sessionId,
  viewerPath,
  active,
}: {
  sessionId: string;
  viewerPath: string;
  active: boolean;
}) {
  const client = useTRPCClient();
  const screen = useRef<HTMLDivElement>(null);
  const conn = useRef<VncConnection | null>(null);
  const [snap, setSnap] = useState<ViewerSnapshot>({
    status: "idle",
    detail: "",
    connects: 0,
    desktopName: "",
  });

  useEffect(() => {
    if (!active || !screen.current) return;
    const c = new VncConnection({
      target: screen.current,
      socketUrl: `${wsOrigin()}${viewerPath}`,
      token: async () => (await client.sessions.viewerToken.mutate({ sessionId })).token,
      onChange: setSnap,
    });
    conn.current = c;
    return () => {
      c.close();
      conn.current = null;
    };
  }, [active, sessionId, viewerPath, client]);

  const status = active ? snap.status : "idle";
  return (
    <div className="viewer">
      <div className="viewer-bar">
        <StateBadge state={status === "idle" ? "disconnected" : status} />
        <span className="muted small">{snap.detail || snap.desktopName}</span>
        <span className="spacer" />
        <button
          type="button"
          className="btn btn-small"
          disabled={status !== "connected"}
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
