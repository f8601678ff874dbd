/**
 * The relay's Prometheus metrics, hand-written (a handful of series do not justify a client
 * library on the data path). Counters are plain numbers bumped per chunk, never per byte.
 */

const SETUP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Everything /metrics reports; mutated in place by the relay. */
export class RelayMetrics {
  connectionsActive = 0;
  connectionsTotal = 0;
  forwardedTotal = 0;
  /** Viewers whose bytes ran on a raw TCP data channel rather than the HTTP/2 stream. */
  dataChannelsTotal = 0;
  bytesFromViewers = 0;
  bytesToViewers = 0;
  agentsAttached = 0;
  sessionsAttached = 0;
  readonly closes = new Map<number, number>();
  readonly #setupCounts = new Array<number>(SETUP_BUCKETS.length + 1).fill(0);
  #setupSum = 0;
  #setupCount = 0;

  constructor(readonly relayId: string) {}

  /** Records tunnel setup time: viewer upgrade accepted to agent stream spliced. */
  observeSetup(seconds: number): void {
    let i = 0;
    while (i < SETUP_BUCKETS.length && seconds > SETUP_BUCKETS[i]!) i++;
    this.#setupCounts[i]!++;
    this.#setupSum += seconds;
    this.#setupCount++;
  }

  /** Counts viewer closes by WebSocket close code, so refusals show up per reason. */
  countClose(code: number): void {
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const l = `relay="${this.relayId}"`;
    const out = [
      "# HELP streamspace_vnc_connections_active Viewer WebSockets currently spliced to an agent.",
      "# TYPE streamspace_vnc_connections_active gauge",
      `streamspace_vnc_connections_active{${l}} ${this.connectionsActive}`,
      "# HELP streamspace_vnc_connections_total Viewer WebSockets accepted.",
      "# TYPE streamspace_vnc_connections_total counter",
      `streamspace_vnc_connections_total{${l}} ${this.connectionsTotal}`,
      "# HELP streamspace_vnc_forwarded_total Viewer connections forwarded to the owning relay.",
      "# TYPE streamspace_vnc_forwarded_total counter",
      `streamspace_vnc_forwarded_total{${l}} ${this.forwardedTotal}`,
      "# HELP streamspace_vnc_data_channels_total Viewers whose bytes used a raw TCP data channel.",
      "# TYPE streamspace_vnc_data_channels_total counter",
      `streamspace_vnc_data_channels_total{${l}} ${this.dataChannelsTotal}`,
      "# HELP streamspace_vnc_bytes_total Payload bytes relayed, by direction.",
      "# TYPE streamspace_vnc_bytes_total counter",
      `streamspace_vnc_bytes_total{${l},direction="in"} ${this.bytesFromViewers}`,
      `streamspace_vnc_bytes_total{${l},direction="out"} ${this.bytesToViewers}`,
      "# HELP streamspace_relay_agents_attached Agents holding an Attach stream.",
      "# TYPE streamspace_relay_agents_attached gauge",
      `streamspace_relay_agents_attached{${l}} ${this.agentsAttached}`,
      "# HELP streamspace_relay_sessions_attached Sessions announced by attached agents.",
      "# TYPE streamspace_relay_sessions_attached gauge",
      `streamspace_relay_sessions_attached{${l}} ${this.sessionsAttached}`,
      "# HELP streamspace_vnc_closes_total Viewer closes by WebSocket close code.",
      "# TYPE streamspace_vnc_closes_total counter",
      ...[...this.closes].map(
        ([code, n]) => `streamspace_vnc_closes_total{${l},code="${code}"} ${n}`,
      ),
      "# HELP streamspace_vnc_tunnel_setup_seconds Viewer accepted to tunnel spliced.",
      "# TYPE streamspace_vnc_tunnel_setup_seconds histogram",
    ];
    let cum = 0;
    SETUP_BUCKETS.forEach((b, i) => {
      cum += this.#setupCounts[i]!;
      out.push(`streamspace_vnc_tunnel_setup_seconds_bucket{${l},le="${b}"} ${cum}`);
    });
    cum += this.#setupCounts[SETUP_BUCKETS.length]!;
    out.push(`streamspace_vnc_tunnel_setup_seconds_bucket{${l},le="+Inf"} ${cum}`);
    out.push(`streamspace_vnc_tunnel_setup_seconds_sum{${l}} ${this.#setupSum}`);
    out.push(`streamspace_vnc_tunnel_setup_seconds_count{${l}} ${this.#setupCount}`);
    return `${out.join("\n")}\n`;
  }
}
