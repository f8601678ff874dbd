/**
 * Measures the hash candidates for relay ownership so the choice in common/src/relay-ring.ts rests
 * on numbers: balance (max/mean sessions per relay), sessions moved on add/remove (ideal:
 * 1/(n+1) and 1/n), and lookup cost. Run: node --import tsx bench/relay/ring-compare.ts
 * Bounded load is not measured: it needs live per-relay load that the three tiers (agent,
 * relay, front balancer) cannot agree on without a round trip, which routing must not need.
 */
import {
  createRelayRing,
  fmix32,
  hashString,
  type RingMember,
} from "@streamspace/common/relay-ring";

type Lookup = (key: string) => string;
type Algo = { name: string; build(ids: string[]): Lookup };

const rendezvous: Algo = {
  name: "rendezvous",
  build(ids) {
    const r = createRelayRing({
      epoch: 1n,
      members: ids.map((id): RingMember => ({ id, url: "" })),
    });
    return (k) => r.owner(k)!.id;
  },
};

function vnodeRing(vnodes: number): Algo {
  return {
    name: `ring-${vnodes}vn`,
    build(ids) {
      const points: { h: number; id: string }[] = [];
      for (const id of ids)
        for (let v = 0; v < vnodes; v++) points.push({ h: hashString(`${id}#${v}`), id });
      points.sort((a, b) => a.h - b.h);
      const hs = Uint32Array.from(points.map((p) => p.h));
      return (k) => {
        const h = hashString(k);
        let lo = 0;
        let hi = hs.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (hs[mid]! < h) lo = mid + 1;
          else hi = mid;
        }
        return points[lo === hs.length ? 0 : lo]!.id;
      };
    },
  };
}

const maglev: Algo = {
  name: "maglev-65537",
  build(ids) {
    const M = 65537;
    const sorted = [...ids].sort();
    const offset = sorted.map((id) => hashString(id, 1) % M);
    const skip = sorted.map((id) => (hashString(id, 2) % (M - 1)) + 1);
    const next = new Array(sorted.length).fill(0);
    const table = new Int32Array(M).fill(-1);
    let filled = 0;
    while (filled < M) {
      for (let i = 0; i < sorted.length && filled < M; i++) {
        let c = (offset[i]! + next[i]! * skip[i]!) % M;
        while (table[c]! >= 0) {
          next[i]++;
          c = (offset[i]! + next[i]! * skip[i]!) % M;
        }
        table[c] = i;
        next[i]++;
        filled++;
      }
    }
    return (k) => sorted[table[fmix32(hashString(k)) % M]!]!;
  },
};

const SESSIONS = Array.from(
  { length: 100_000 },
  (_, i) => `sess-${i.toString(36)}-${(i * 7919) % 1000}`,
);

function measure(algo: Algo, n: number) {
  const ids = Array.from({ length: n }, (_, i) => `relay-${i}`);
  const base = algo.build(ids);
  const owners = SESSIONS.map(base);
  const counts = new Map<string, number>();
  for (const o of owners) counts.set(o, (counts.get(o) ?? 0) + 1);
  const max = Math.max(...counts.values());
  const balance = max / (SESSIONS.length / n);
  const added = algo.build([...ids, `relay-${n}`]);
  const movedAdd = SESSIONS.filter((s, i) => added(s) !== owners[i]).length / SESSIONS.length;
  const removed = algo.build(ids.slice(1));
  const movedRemove = SESSIONS.filter((s, i) => removed(s) !== owners[i]).length / SESSIONS.length;
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let r = 0; r < 3; r++) for (const s of SESSIONS) sink += base(s).length;
  const ns = Number(process.hrtime.bigint() - t0) / (3 * SESSIONS.length);
  const b0 = process.hrtime.bigint();
  algo.build(ids);
  const buildUs = Number(process.hrtime.bigint() - b0) / 1000;
  return {
    algo: algo.name,
    n,
    balance,
    movedAdd,
    idealAdd: 1 / (n + 1),
    movedRemove,
    idealRemove: 1 / n,
    ns,
    buildUs,
    sink,
  };
}

console.log(
  "| algorithm | relays | max/mean load | moved on add (ideal) | moved on remove (ideal) | lookup ns | build µs |",
);
console.log("|---|---|---|---|---|---|---|");
for (const n of [3, 10, 50]) {
  for (const algo of [rendezvous, vnodeRing(160), vnodeRing(1000), maglev]) {
    const r = measure(algo, n);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    console.log(
      `| ${r.algo} | ${n} | ${r.balance.toFixed(3)} | ${pct(r.movedAdd)} (${pct(r.idealAdd)}) | ${pct(r.movedRemove)} (${pct(r.idealRemove)}) | ${r.ns.toFixed(0)} | ${r.buildUs.toFixed(0)} |`,
    );
  }
}
