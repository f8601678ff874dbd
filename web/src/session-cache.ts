/**
 * Ordering rule for session snapshots in the client cache. Snapshots reach the page by three
 * roads (query reads, mutation replies, the watch feed) that can overtake each other: a fast
 * hibernate's "hibernated" event may land before the mutation's own "hibernating" reply. The
 * server bumps `version` on every change, so the higher version always wins.
 */

interface Versioned {
  id: string;
  version: number;
}

/** The newer of two snapshots of one session; `next` on a tie (it was read later). */
export function newer<T extends Versioned>(old: T | undefined, next: T): T {
  return old !== undefined && old.version > next.version ? old : next;
}

/** A list with `s` put in (replacing an older copy, or first when new) or taken out. */
export function putInList<T extends Versioned>(list: T[], s: T, deleted: boolean): T[] {
  if (deleted) return list.filter((x) => x.id !== s.id);
  const existing = list.find((x) => x.id === s.id);
  if (!existing) return [s, ...list];
  const winner = newer(existing, s);
  return winner === existing ? list : list.map((x) => (x.id === s.id ? s : x));
}

/** The filters of a `sessions.list` query, as its cache key carries them. */
export interface ListFilter {
  states?: string[];
  agentId?: string;
  ownerId?: string;
  templateId?: string;
}

/**
 * Whether a session belongs in a list read with these filters. A snapshot from the watch feed
 * goes into every cached list; one whose state left a list's filter (a session that stopped,
 * seen by the "active" list) must leave that list instead of lingering with the wrong badge.
 * `mine` needs no check: a user's feed carries only their own sessions, and staff lists with
 * `mine` are filtered by ownerId the same way.
 */
export function matchesFilter(
  filter: ListFilter | undefined,
  s: { state: string; agentId: string; ownerId: string; templateId: string },
): boolean {
  if (!filter) return true;
  if (filter.states?.length && !filter.states.includes(s.state)) return false;
  if (filter.agentId && filter.agentId !== s.agentId) return false;
  if (filter.ownerId && filter.ownerId !== s.ownerId) return false;
  if (filter.templateId && filter.templateId !== s.templateId) return false;
  return true;
}
