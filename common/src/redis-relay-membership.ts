/**
 * Relay membership in Redis ("@streamspace/common/relay-membership"), shared by relays (which
 * register) and the control plane (which watches and pushes the ring to agents), so the key
 * layout lives in one place. One hash maps relay id → "deadlineMs|url"; every change (join,
 * URL change, leave, expiry) bumps one epoch counter inside the same Lua script and publishes
 * it, so `{epoch, members}` read together is always a consistent version; a lost counter is
 * re-seeded from the clock, so epochs only grow even across a Redis restart. Deadlines use the
 * Redis clock (TIME), so relay clocks never need to agree.
 */
import type { Redis } from "ioredis";
import type { RingMember, RingSnapshot } from "./relay-ring.ts";

/** Key names; a prefix lets several deployments share one Redis. */
export function relayKeys(prefix = "streamspace") {
  return {
    members: `${prefix}:relays:members`,
    epoch: `${prefix}:relays:epoch`,
    channel: `${prefix}:relays:changed`,
  };
}

// Removes expired members, then applies an optional upsert/leave, bumping the epoch once if
// anything changed. Returns { epoch, flat member list }.
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local changed = false
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local sep = string.find(all[i + 1], '|', 1, true)
  if sep and tonumber(string.sub(all[i + 1], 1, sep - 1)) < now then
    redis.call('HDEL', KEYS[1], all[i])
    changed = true
  end
end
if ARGV[1] == 'up' then
  local old = redis.call('HGET', KEYS[1], ARGV[2])
  if (not old) or string.sub(old, string.find(old, '|', 1, true) + 1) ~= ARGV[3] then changed = true end
  redis.call('HSET', KEYS[1], ARGV[2], tostring(now + tonumber(ARGV[4])) .. '|' .. ARGV[3])
elseif ARGV[1] == 'leave' then
  if redis.call('HDEL', KEYS[1], ARGV[2]) == 1 then changed = true end
end
local epoch
if changed then
  -- Seed a lost counter (Redis restarted or flushed) from the clock in microseconds so epochs
  -- never go back, even when the counter is lost and re-seeded within one millisecond.
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('SET', KEYS[2], tonumber(t[1]) * 1000000 + tonumber(t[2]))
  end
  epoch = redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', KEYS[3], tostring(epoch))
else
  epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
end
return { epoch, redis.call('HGETALL', KEYS[1]) }
`;

function parse(reply: unknown): RingSnapshot {
  const [epoch, flat] = reply as [number, string[]];
  const members: RingMember[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const v = flat[i + 1]!;
    members.push({ id: flat[i]!, url: v.slice(v.indexOf("|") + 1) });
  }
  members.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { epoch: BigInt(epoch), members };
}

/** Registers (or refreshes) a relay for ttlMs; returns the ring after the change. */
export async function heartbeatRelay(
  redis: Redis,
  member: RingMember,
  ttlMs: number,
  prefix?: string,
): Promise<RingSnapshot> {
  const k = relayKeys(prefix);
  return parse(
    await redis.eval(
      SCRIPT,
      3,
      k.members,
      k.epoch,
      k.channel,
      "up",
      member.id,
      member.url,
      String(ttlMs),
    ),
  );
}

/** Removes a relay at once (graceful shutdown), so its sessions move without waiting for the TTL. */
export async function leaveRelay(redis: Redis, id: string, prefix?: string): Promise<RingSnapshot> {
  const k = relayKeys(prefix);
  return parse(await redis.eval(SCRIPT, 3, k.members, k.epoch, k.channel, "leave", id));
}

/** Reads the ring, expiring dead members first. */
export async function readRelayRing(redis: Redis, prefix?: string): Promise<RingSnapshot> {
  const k = relayKeys(prefix);
  return parse(await redis.eval(SCRIPT, 3, k.members, k.epoch, k.channel, "read"));
}

/**
 * Keeps a snapshot fresh: re-reads on every published change and every pollMs (expiry has
 * no event of its own). `subscriber` must be a dedicated connection (pub/sub mode).
 */
export function watchRelayRing(opts: {
  redis: Redis;
  subscriber: Redis;
  pollMs: number;
  prefix?: string;
  onRing(ring: RingSnapshot): void;
  onError(err: unknown): void;
}): () => void {
  const k = relayKeys(opts.prefix);
  let stopped = false;
  let inflight = false;
  // A change announced while a read is in flight may not be in that read: remember it and
  // read once more, so no join or leave waits for the next poll.
  let again = false;
  const refresh = async () => {
    if (stopped) return;
    if (inflight) {
      again = true;
      return;
    }
    inflight = true;
    try {
      do {
        again = false;
        try {
          const ring = await readRelayRing(opts.redis, opts.prefix);
          if (!stopped) opts.onRing(ring);
        } catch (err) {
          opts.onError(err);
        }
      } while (again && !stopped);
    } finally {
      inflight = false;
    }
  };
  const onMessage = (channel: string) => {
    if (channel === k.channel) void refresh();
  };
  opts.subscriber.on("message", onMessage);
  opts.subscriber.subscribe(k.channel).catch(opts.onError);
  const timer = setInterval(refresh, opts.pollMs);
  void refresh();
  return () => {
    stopped = true;
    clearInterval(timer);
    opts.subscriber.off("message", onMessage);
  };
}
