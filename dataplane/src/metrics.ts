/**
 * The relay's Prometheus metrics, on the kit's prom-client registry (with its process, GC and
 * event-loop metrics). The data path bumps plain numbers per chunk, never per byte and never
 * through a label lookup; the registry reads them at scrape time. Every series carries
 * `relay="<id>"` as its first label, as dashboards and the e2e tests expect.
 */
import { createMetrics, type Metrics } from "@streamspace/common/metrics";

const RTT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const SETUP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Everything /metrics reports; mutated in place by the relay. */
export class RelayMetrics {
  connectionsActive = 0;
  connectionsTotal = 0;
  forwardedTotal = 0;
  /** Viewers whose bytes ran on a raw TCP data channel rather than the HTTP/2 stream. */
  dataChannelsTotal = 0;
  /** Viewers the relay spliced straight to the session's VNC endpoint (direct mode). */
  directTotal = 0;
  /** Direct-mode dials that failed, so the viewer took the agent's tunnel instead. */
  directFallbacksTotal = 0;
  bytesFromViewers = 0;
  bytesToViewers = 0;
  agentsAttached = 0;
  sessionsAttached = 0;
  readonly closes = new Map<number, number>();
  /** Viewer connects to a session that already had a viewer here (QoE, session-qoe.ts). */
  viewerReconnects = 0;
  frameRequests = 0;
  /** Viewer input messages by kind: key, pointer, clipboard, other (a bounded label set). */
  readonly inputs = new Map<string, number>();
  readonly #metrics: Metrics;
  readonly #observeSetup: (seconds: number) => void;
  readonly #observeRtt: (seconds: number) => void;
  readonly #observeFirstFrame: (seconds: number) => void;

  constructor(readonly relayId: string) {
    const m = createMetrics();
    this.#metrics = m;
    const relay = { relay: relayId };
    const one = (read: () => number) => ({
      labels: ["relay"],
      collect: () => [[relay, read()] as const],
    });
    m.gauge(
      "streamspace_vnc_connections_active",
      "Viewer WebSockets currently spliced to an agent.",
      one(() => this.connectionsActive),
    );
    m.counter(
      "streamspace_vnc_connections_total",
      "Viewer WebSockets accepted.",
      one(() => this.connectionsTotal),
    );
    m.counter(
      "streamspace_vnc_forwarded_total",
      "Viewer connections forwarded to the owning relay.",
      one(() => this.forwardedTotal),
    );
    m.counter(
      "streamspace_vnc_data_channels_total",
      "Viewers whose bytes used a raw TCP data channel.",
      one(() => this.dataChannelsTotal),
    );
    m.counter(
      "streamspace_vnc_direct_total",
      "Viewers spliced straight to the session's VNC endpoint (direct mode).",
      one(() => this.directTotal),
    );
    m.counter(
      "streamspace_vnc_direct_fallbacks_total",
      "Direct-mode dials that failed; the viewer took the agent's tunnel.",
      one(() => this.directFallbacksTotal),
    );
    m.counter("streamspace_vnc_bytes_total", "Payload bytes relayed, by direction.", {
      labels: ["relay", "direction"],
      collect: () => [
        [{ ...relay, direction: "in" }, this.bytesFromViewers],
        [{ ...relay, direction: "out" }, this.bytesToViewers],
      ],
    });
    m.gauge(
      "streamspace_relay_agents_attached",
      "Agents holding an Attach stream.",
      one(() => this.agentsAttached),
    );
    m.gauge(
      "streamspace_relay_sessions_attached",
      "Sessions announced by attached agents.",
      one(() => this.sessionsAttached),
    );
    m.counter("streamspace_vnc_closes_total", "Viewer closes by WebSocket close code.", {
      labels: ["relay", "code"],
      collect: () => [...this.closes].map(([code, n]) => [{ ...relay, code }, n] as const),
    });
    const setup = m.histogram(
      "streamspace_vnc_tunnel_setup_seconds",
      "Viewer accepted to tunnel spliced.",
      { labels: ["relay"], buckets: SETUP_BUCKETS },
    );
    setup.zero(relay);
    this.#observeSetup = (s) => setup.observe(relay, s);
    // QoE: fleet-wide distributions only; per-session figures go to the control plane.
    const rtt = m.histogram(
      "streamspace_vnc_rtt_seconds",
      "WebSocket ping to pong between this relay and its viewers' browsers.",
      { labels: ["relay"], buckets: RTT_BUCKETS },
    );
    rtt.zero(relay);
    this.#observeRtt = (s) => rtt.observe(relay, s);
    const first = m.histogram(
      "streamspace_vnc_time_to_first_frame_seconds",
      "Viewer upgrade to the first frame's bytes reaching it.",
      { labels: ["relay"], buckets: SETUP_BUCKETS },
    );
    first.zero(relay);
    this.#observeFirstFrame = (s) => first.observe(relay, s);
    m.counter(
      "streamspace_vnc_frame_requests_total",
      "FramebufferUpdateRequests from viewers (one per frame in RFB's request/answer flow).",
      one(() => this.frameRequests),
    );
    m.counter(
      "streamspace_vnc_viewer_reconnects_total",
      "Viewer connects to a session that already had a viewer on this relay.",
      one(() => this.viewerReconnects),
    );
    m.counter("streamspace_vnc_input_events_total", "Viewer input messages, by kind.", {
      labels: ["relay", "kind"],
      collect: () => [...this.inputs].map(([kind, n]) => [{ ...relay, kind }, n] as const),
    });
  }

  observeRtt(seconds: number): void {
    this.#observeRtt(seconds);
  }

  observeFirstFrame(seconds: number): void {
    this.#observeFirstFrame(seconds);
  }

  countInput(kind: string): void {
    this.inputs.set(kind, (this.inputs.get(kind) ?? 0) + 1);
  }

  /** Records tunnel setup time: viewer upgrade accepted to agent stream spliced. */
  observeSetup(seconds: number): void {
    this.#observeSetup(seconds);
  }

  /** Counts viewer closes by WebSocket close code, so refusals show up per reason. */
  countClose(code: number): void {
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
  }

  /** The registry /metrics serves. */
  get registry(): Pick<Metrics, "text" | "contentType"> {
    return this.#metrics;
  }
}
