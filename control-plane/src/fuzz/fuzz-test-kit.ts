/**
 * What the control plane's fuzz tests share: one seed (FUZZ_SEED) and run count (FUZZ_RUNS),
 * so a failure found anywhere is replayed with the seed fast-check prints; an arbitrary for any
 * protobuf message built from its descriptor (so a field added to a proto is fuzzed without
 * touching the tests), biased towards values that reach deep code (UUIDs, names that exist,
 * boundary numbers, unknown enum values); byte mutations of valid encodings; and the
 * "nothing leaked" checks (unhandled rejections, heap after GC).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import fc from "fast-check";

/** fast-check parameters: the seed is fixed unless FUZZ_SEED says otherwise. */
export function fuzzParams(defaultRuns: number): { seed: number; numRuns: number } {
  return {
    seed: Number(process.env.FUZZ_SEED ?? 20_261_129),
    numRuns: Number(process.env.FUZZ_RUNS ?? defaultRuns),
  };
}

/** Strings that reach past validation into the domain, plus hostile ones. */
const INTERESTING = [
  "",
  " ",
  "demo-desktop",
  "xterm-desktop",
  "mx-user",
  "00000000-0000-4000-8000-000000000000",
  "../../etc/passwd",
  "'; DROP TABLE sessions; --",
  "\u0000",
  "\ud800",
  "💥".repeat(40),
  "a".repeat(5000),
  "Bearer x",
  "ssk_0000",
];

const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.constantFrom(...INTERESTING) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
);

const I64 = 2n ** 63n;

function scalarArb(t: ScalarType): fc.Arbitrary<unknown> {
  switch (t) {
    case ScalarType.STRING:
      return text;
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.oneof(fc.bigInt({ min: -I64, max: I64 - 1n }), fc.constantFrom(0n, -1n, 1n));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt({ min: 0n, max: 2n * I64 - 1n });
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.nat({ max: 0xffff_ffff });
    default:
      return fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 50, 500, 501, 2 ** 31 - 1));
  }
}

function valueArb(f: DescField, depth: number): fc.Arbitrary<unknown> | undefined {
  switch (f.fieldKind) {
    case "scalar":
      return scalarArb(f.scalar);
    case "enum":
      return fc.oneof(
        fc.constantFrom(...f.enum.values.map((v) => v.number)),
        fc.integer({ min: -3, max: 300 }),
      );
    case "message":
      return depth > 0 ? messageArb(f.message, depth - 1) : undefined;
    case "list": {
      const el =
        f.listKind === "scalar"
          ? scalarArb(f.scalar)
          : f.listKind === "enum"
            ? fc.integer({ min: -3, max: 300 })
            : depth > 0
              ? messageArb(f.message, depth - 1)
              : undefined;
      return el && fc.array(el, { maxLength: 12 });
    }
    case "map": {
      const v =
        f.mapKind === "scalar"
          ? scalarArb(f.scalar)
          : f.mapKind === "enum"
            ? fc.integer({ min: -3, max: 300 })
            : depth > 0
              ? messageArb(f.message, depth - 1)
              : undefined;
      return v && fc.dictionary(fc.string({ maxLength: 20 }), v, { maxKeys: 40 });
    }
  }
}

/** Any message of `desc` as an init object for create(): each field present or not. */
export function messageArb(desc: DescMessage, depth = 3): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of desc.fields) {
    if (f.oneof) continue;
    const a = valueArb(f, depth);
    if (a) parts[f.localName] = a;
  }
  for (const o of desc.oneofs) {
    const cases = o.fields.flatMap((f) => {
      const a = valueArb(f, depth);
      return a ? [a.map((value) => ({ case: f.localName, value }))] : [];
    });
    if (cases.length) parts[o.localName] = fc.oneof(...cases);
  }
  return fc.record(parts, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Edits of a byte string: flips, truncation, insertions, a bad varint, a huge length. */
export const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.constant({ kind: "badVarint" as const }),
  fc.constant({ kind: "hugeLength" as const }),
);

/** One edit of a byte string. */
export type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** Applies a list of mutations to `bytes`. */
export function mutate(bytes: Uint8Array, edits: Mutation[]): Uint8Array {
  let b = Buffer.from(bytes);
  for (const e of edits) {
    const at = b.length ? ("at" in e ? e.at % b.length : 0) : 0;
    switch (e.kind) {
      case "flip":
        if (b.length) b[at] = (b[at] ?? 0) ^ (1 << e.bit);
        break;
      case "cut":
        b = b.subarray(0, at);
        break;
      case "insert":
        b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
        break;
      case "badVarint":
        b = Buffer.concat([b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff])]);
        break;
      case "hugeLength":
        b = Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), b]);
        break;
    }
  }
  return b;
}

/** Collects unhandled rejections from now on; `stop()` returns them and stops listening. */
export function watchUnhandled(): { stop(): unknown[] } {
  const seen: unknown[] = [];
  const on = (reason: unknown) => seen.push(reason);
  process.on("unhandledRejection", on);
  return {
    stop() {
      process.off("unhandledRejection", on);
      return seen;
    },
  };
}

/** Heap in use after a full collection, so before/after comparisons measure what is kept. */
export function heapAfterGc(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
