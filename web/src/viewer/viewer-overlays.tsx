/**
 * What sits over or beside the desktop: the small QoE overlay (the viewer's own figures with
 * the relay's round trip), the idle-hibernation warning, and the clipboard panel.
 */
import { useEffect, useState } from "react";
import { formatRate, type ViewerFigures } from "./viewer-meter.ts";

/** The relay's figures for this session, as the control plane serves them (qoe.session). */
export interface SessionQoe {
  rttMs: number;
  framesPerSecond: number;
  bytesToViewerPerSecond: number;
  reconnects: number;
  viewers: number;
  idle: { timeoutSeconds: number; warnAtMs: number; hibernateAtMs: number } | null;
  serverTimeMs: number;
}

/** A corner of figures; unobtrusive (small, translucent), hidden with the toolbar's Stats. */
export function QoeOverlay({
  figures,
  relay,
  reconnects,
}: {
  figures: ViewerFigures;
  relay: SessionQoe | undefined;
  reconnects: number;
}) {
  const rtt = relay && relay.rttMs > 0 ? `${Math.round(relay.rttMs)} ms` : "…";
  return (
    <dl className="qoe-overlay" data-testid="qoe-overlay" aria-label="Connection quality">
      <div>
        <dt>RTT</dt>
        <dd data-qoe="rtt">{rtt}</dd>
      </div>
      <div>
        <dt>FPS</dt>
        <dd data-qoe="fps">{figures.framesPerSecond.toFixed(1)}</dd>
      </div>
      <div>
        <dt>In</dt>
        <dd data-qoe="bytes-in">{formatRate(figures.bytesInPerSecond)}</dd>
      </div>
      <div>
        <dt>First frame</dt>
        <dd data-qoe="ttff">
          {figures.timeToFirstFrameMs ? `${figures.timeToFirstFrameMs} ms` : "…"}
        </dd>
      </div>
      <div>
        <dt>Reconnects</dt>
        <dd data-qoe="reconnects">{reconnects}</dd>
      </div>
    </dl>
  );
}

/**
 * "This desktop hibernates in 42 s": shown from the warning time the control plane computed
 * (corrected for the difference between the server's clock and this one) until input here
 * moves the deadline. Input after the warning started hides it at once.
 */
export function IdleWarning({
  idle,
  skewMs,
  lastInputMs,
}: {
  idle: SessionQoe["idle"];
  skewMs: number;
  lastInputMs: number;
}) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, []);
  if (!idle) return null;
  const serverNow = now + skewMs;
  const localInputAtServer = lastInputMs ? lastInputMs + skewMs : 0;
  if (serverNow < idle.warnAtMs || localInputAtServer >= idle.warnAtMs) return null;
  const left = Math.max(0, Math.ceil((idle.hibernateAtMs - serverNow) / 1000));
  return (
    <div className="idle-warning" role="alert" data-testid="idle-warning">
      <strong>Still there?</strong> Nobody has used this desktop for a while, so it hibernates in{" "}
      <span data-testid="idle-seconds">{left}</span> s. Move the mouse or press a key to keep it
      running.
    </div>
  );
}

/** The desktop's clipboard as text: what it copied shows here; edit and send to paste there. */
export function ClipboardPanel({
  remote,
  onSend,
  onClose,
}: {
  remote: string;
  onSend: (text: string) => void;
  onClose: () => void;
}) {
  const [text, setText] = useState(remote);
  useEffect(() => setText(remote), [remote]);
  return (
    <div className="clipboard-panel" data-testid="clipboard-panel">
      <label htmlFor="viewer-clipboard">Clipboard</label>
      <textarea
        id="viewer-clipboard"
        data-testid="clipboard-text"
        value={text}
        onChange={(e) => setText(e.target.value)}
        rows={4}
        placeholder="Text the desktop copies appears here. Type or paste here, then send it."
      />
      <div className="clipboard-actions">
        <button type="button" className="btn btn-small" onClick={() => onSend(text)}>
          Send to desktop
        </button>
        <button type="button" className="btn btn-small" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
