/**
 * The relay ring as the gateway sees it. The gateway only reads it (for Welcome) and forwards
 * changes (RingUpdate); the relay-ring module owns how it is discovered (static list, Redis).
 */
export interface RelayRingMember {
  id: string;
  /** Base URL agents dial, e.g. "http://127.0.0.1:8081". */
  url: string;
}

/** One version of the live relay set; the epoch grows with every change. */
export interface RelayRingSnapshot {
  epoch: bigint;
  members: RelayRingMember[];
}

/**
 * Port the gateway consumes; implementations live in control-plane/src/relay-ring/ (static and
 * Redis) and pass one behaviour suite (relay-ring/relay-ring-source-cases.ts).
 */
export interface RelayRingSource {
  current(): RelayRingSnapshot;
  /** Calls fn on every change; returns the unsubscribe function. */
  subscribe(fn: (ring: RelayRingSnapshot) => void): () => void;
}
