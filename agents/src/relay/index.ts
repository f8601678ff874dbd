/**
 * The agent side of the VNC tunnel: given the relay ring (from Welcome / RingUpdate) and the
 * sessions this agent runs, keep one HTTP/2 link to each relay that owns at least one of them
 * and announce the sessions it owns. When the ring changes only sessions whose owner changed
 * move; a link that dies marks its relay suspect so its sessions go to the next rendezvous
 * choice at once — the same fallback relays compute — instead of waiting for the ring's TTL.
 * Links whose sessions all moved stay open until their last viewer leaves, so moves never cut
 * a live viewer.
 */
import { createRelayRing, type RelayRing as Ring } from "@streamspace/common/relay-ring";
import type { RelayRing } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { RelayLink, type RelayLinksLogger } from "./relay-link.ts";

export type { RelayLinksLogger };

/** Same shape as agents/src/runtime/relay-hook.ts (kept structural so the two evolve apart). */
export interface RelayLinks {
  updateRing(ring: RelayRing): void;
  sessionsChanged(sessions: ReadonlyMap<string, { host: string; port: number }>): void;
  close(): Promise<void>;
  /** Which relay each session is announced on right now (tests, debugging). */
  placement(): ReadonlyMap<string, string>;
}

/** How long a relay whose link died is routed around without a new ring epoch. */
export const SUSPECT_MS = 10_000;

/**
 * Creates the link manager; nothing connects until both a ring and sessions are known.
 * `direct`: also announce each session's VNC endpoint so relays allowed to reach it dial it
 * themselves (AGENT_RELAY_DIRECT; the tunnel stays for relays that cannot).
 */
export function createRelayLinks(opts: {
  agentId: string;
  log: RelayLinksLogger;
  direct?: boolean;
}): RelayLinks {
  const { agentId, log } = opts;
  let ring: Ring = createRelayRing({ epoch: 0n, members: [] });
  let token = "";
  let endpoints: ReadonlyMap<string, { host: string; port: number }> = new Map();
  const suspects = new Map<string, number>();
  const links = new Map<string, RelayLink>();
  const draining = new Set<RelayLink>();
  const placement = new Map<string, string>();
  /** What each link was last told, so only changes are re-announced. */
  const announced = new WeakMap<RelayLink, string>();
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const deps = {
    agentId,
    log,
    endpoint: (sid: string) => endpoints.get(sid),
    onDown(link: RelayLink, reason: string) {
      draining.delete(link);
      if (links.get(link.relayId) !== link) return;
      links.delete(link.relayId);
      if (closed) return;
      log.warn("relay link down; routing its sessions to the next relay", {
        relay: link.relayId,
        reason,
      });
      suspects.set(link.relayId, Date.now() + SUSPECT_MS);
      reconcile();
      // Try the relay again once the suspicion lapses, in case it was a blip.
      retry ??= setTimeout(() => {
        retry = undefined;
        reconcile();
      }, SUSPECT_MS + 50);
      retry.unref();
    },
    onIdle(link: RelayLink) {
      if (links.get(link.relayId) === link && link.sessions.length > 0) return;
      if (draining.delete(link) || links.get(link.relayId) === link) {
        if (links.get(link.relayId) === link) links.delete(link.relayId);
        link.close();
      }
    },
  };

  function reconcile(): void {
    if (closed) return;
    const now = Date.now();
    for (const [id, until] of suspects) if (until < now) suspects.delete(id);
    const exclude = new Set(suspects.keys());
    const want = new Map<string, string[]>();
    placement.clear();
    for (const sid of endpoints.keys()) {
      const owner = exclude.size ? ring.ownerExcluding(sid, exclude) : ring.owner(sid);
      if (!owner) continue;
      placement.set(sid, owner.id);
      const list = want.get(owner.id);
      if (list) list.push(sid);
      else want.set(owner.id, [sid]);
    }
    for (const [id, link] of links) {
      const member = ring.byId(id);
      if (want.has(id) && member && member.url === link.url) continue;
      // No longer owns anything (or moved URL): stop routing new viewers here, keep live ones.
      links.delete(id);
      link.announce([], ring.epoch);
      if (link.tunnels > 0 && !link.down) draining.add(link);
      else link.close();
    }
    for (const [id, sids] of want) {
      let link = links.get(id);
      if (!link) {
        if (!token) continue;
        const member = ring.byId(id)!;
        link = new RelayLink(id, member.url, () => token, deps);
        links.set(id, link);
        log.info("relay link opened", { relay: id, url: member.url, sessions: sids.length });
      }
      sids.sort();
      const direct = opts.direct
        ? sids.flatMap((sid) => {
            const ep = endpoints.get(sid);
            return ep ? [{ sessionId: sid, host: ep.host, port: ep.port }] : [];
          })
        : [];
      // Endpoints change under the same session id (a restarted desktop), so they count too.
      const key = direct.map((d) => `${d.host}:${d.port}`).join(",");
      if (!sameList(link.sessions, sids) || announced.get(link) !== key) {
        announced.set(link, key);
        link.announce(sids, ring.epoch, direct);
      }
    }
  }

  return {
    updateRing(next) {
      if (next.epoch < ring.epoch) return;
      if (next.epoch !== ring.epoch) suspects.clear();
      const tokenChanged = next.relayToken !== token;
      token = next.relayToken;
      ring = createRelayRing({
        epoch: next.epoch,
        members: next.members.map((m) => ({ id: m.id, url: m.url })),
      });
      // Links read the token per request, so new tunnels on old links use the fresh one.
      if (tokenChanged) log.debug?.("relay token refreshed", { epoch: next.epoch.toString() });
      reconcile();
    },
    sessionsChanged(sessions) {
      endpoints = new Map(sessions);
      reconcile();
    },
    placement: () => placement,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      for (const link of [...links.values(), ...draining]) link.close();
      links.clear();
      draining.clear();
    },
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
