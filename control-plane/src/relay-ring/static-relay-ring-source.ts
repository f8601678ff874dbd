/**
 * The relay ring from RELAY_URLS, for one node or a hand-written cluster: no Redis needed.
 * Ids default to "relay-<n>" in list order, so every control-plane pod given the same list
 * hands agents the same ring (and relays started with the matching RELAY_STATIC_MEMBERS agree).
 */
import type {
  RelayRingMember,
  RelayRingSnapshot,
  RelayRingSource,
} from "../gateway/relay-ring-source.ts";

/** A ring source that can be closed with the process (the static one has nothing to close). */
export interface ClosableRelayRingSource extends RelayRingSource {
  close(): Promise<void>;
}

/**
 * Parses RELAY_URLS: "http://a:8081,http://b:8081" or "id=http://a:8081,…". Throws a message
 * naming the variable and the bad entry.
 */
export function parseRelayUrls(value: string, name = "RELAY_URLS"): RelayRingMember[] {
  const members = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const eq = entry.indexOf("=");
      const hasId = eq > 0 && !entry.slice(0, eq).includes(":");
      const id = hasId ? entry.slice(0, eq) : `relay-${i + 1}`;
      const url = hasId ? entry.slice(eq + 1) : entry;
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new Error(
          `${name} entry "${entry}" is invalid: expected http://host:port or id=http://host:port`,
        );
      }
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        throw new Error(`${name} entry "${entry}" is invalid: expected an http(s) URL`);
      }
      return { id, url: url.replace(/\/$/, "") };
    });
  const ids = new Set(members.map((m) => m.id));
  if (ids.size !== members.length) throw new Error(`${name} lists the same relay id twice`);
  return members;
}

/** A ring that never changes (epoch 1 unless told): the single-node default and test fixture. */
export function createStaticRelayRingSource(
  members: RelayRingMember[],
  epoch = 1n,
): ClosableRelayRingSource {
  const snapshot: RelayRingSnapshot = { epoch, members: members.map((m) => ({ ...m })) };
  return { current: () => snapshot, subscribe: () => () => {}, close: async () => {} };
}
