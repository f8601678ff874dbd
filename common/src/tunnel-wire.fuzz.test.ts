/**
 * Fuzzing the tunnel wire format (fast-check, seeded: FUZZ_SEED and FUZZ_RUNS reproduce a run;
 * a failure prints its seed and path). Properties: any chunking of valid frames yields the same
 * messages and data bytes; arbitrary bytes never throw, only return an Error; a reader never
 * holds more than one message's worth of bytes.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  TunnelRequestSchema,
  TunnelResponseSchema,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import fc from "fast-check";
import {
  dataFieldOf,
  dataPrefix,
  decodeMessage,
  encodeMessage,
  FrameReader,
  TunnelReader,
} from "./tunnel-wire.ts";

const params = {
  seed: Number(process.env.FUZZ_SEED ?? 20_261_129),
  numRuns: Number(process.env.FUZZ_RUNS ?? 300),
};

/** Splits `buf` at the given fractions (sorted, deduplicated) into chunks. */
function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, buf.length]) {
    if (c > prev) out.push(buf.subarray(prev, c));
    prev = Math.max(prev, c);
  }
  return out;
}

const payload = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a));
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

describe("tunnel wire (fuzz)", () => {
  test("FrameReader: any chunking of valid frames gives back the same messages", () => {
    fc.assert(
      fc.property(fc.array(payload, { maxLength: 8 }), cuts, (msgs, where) => {
        const wire = Buffer.concat(
          msgs.map((m) => {
            const h = Buffer.alloc(5);
            h.writeUInt32BE(m.length, 1);
            return Buffer.concat([h, m]);
          }),
        );
        const got: Buffer[] = [];
        const r = new FrameReader((m) => got.push(Buffer.from(m)), 4096);
        for (const c of chunked(wire, where)) assert.equal(r.push(c), undefined);
        assert.deepEqual(got, msgs);
      }),
      params,
    );
  });

  test("TunnelReader: data payloads arrive intact under any chunking, control messages whole", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            payload.map((p) => ({ data: p })),
            fc.constant({ close: true }),
          ),
          {
            maxLength: 8,
          },
        ),
        cuts,
        (items, where) => {
          const frames = items.map((it) =>
            "data" in it
              ? Buffer.concat([dataPrefix(1, it.data.length), it.data])
              : encodeMessage(
                  TunnelResponseSchema,
                  create(TunnelResponseSchema, {
                    payload: { case: "close", value: { reason: "bye" } },
                  }),
                ),
          );
          const data: Buffer[] = [];
          let controls = 0;
          const r = new TunnelReader(1, (buf, isData) => {
            if (isData) data.push(Buffer.from(buf));
            else {
              const whole = Buffer.from(buf);
              const d = dataFieldOf(whole, 1);
              if (d) data.push(Buffer.from(d));
              else if (whole.length === 0) data.push(whole);
              else controls++;
            }
          });
          for (const c of chunked(Buffer.concat(frames), where)) assert.equal(r.push(c), undefined);
          const sent = items.flatMap((it) => ("data" in it ? [it.data] : []));
          assert.deepEqual(Buffer.concat(data), Buffer.concat(sent));
          assert.equal(controls, items.length - sent.length);
        },
      ),
      params,
    );
  });

  test("arbitrary bytes never throw: readers return an Error or wait, decoders an Error", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 10 }), (chunks) => {
        const frames = new FrameReader(() => {}, 1024);
        const tunnel = new TunnelReader(2, () => {}, 1024);
        let frameErr: Error | undefined;
        let tunnelErr: Error | undefined;
        for (const c of chunks) {
          const b = Buffer.from(c);
          frameErr ??= frames.push(b);
          tunnelErr ??= tunnel.push(b);
          const m = decodeMessage(TunnelRequestSchema, b);
          assert.ok(m instanceof Error || typeof m === "object");
          const d = dataFieldOf(b, 2);
          assert.ok(d === undefined || d.length <= b.length);
        }
        for (const e of [frameErr, tunnelErr]) {
          if (e) assert.match(e.message, /compressed|exceeds/);
        }
      }),
      params,
    );
  });
});
