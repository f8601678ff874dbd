/** Hand-rolled gRPC framing must match protobuf-es byte for byte and split streams correctly. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  TunnelRequestSchema,
  TunnelResponseSchema,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import {
  dataFieldOf,
  dataPrefix,
  decodeMessage,
  encodeMessage,
  FrameReader,
  TunnelReader,
} from "./tunnel-wire.ts";

describe("tunnel wire", () => {
  it("encodes data frames exactly as protobuf-es does", () => {
    for (const len of [0, 1, 127, 128, 16_383, 16_384, 70_000]) {
      const data = Buffer.alloc(len, 7);
      const viaSchema = toBinary(
        TunnelResponseSchema,
        create(TunnelResponseSchema, { payload: { case: "data", value: data } }),
      );
      const hand = Buffer.concat([dataPrefix(1, len), data]);
      assert.deepEqual(hand.subarray(5), Buffer.from(viaSchema));
      assert.equal(hand.readUInt32BE(1), viaSchema.length);
      assert.deepEqual(dataFieldOf(hand.subarray(5), 1), data);
      assert.equal(dataFieldOf(hand.subarray(5), 2), undefined);
    }
  });

  it("splits messages across arbitrary chunk boundaries without losing bytes", () => {
    const msgs = [3, 0, 1000, 70_000, 5].map((n, i) => Buffer.alloc(n, i + 1));
    const stream = Buffer.concat(msgs.flatMap((m) => [dataPrefix(2, m.length), m]));
    for (const step of [1, 2, 5, 7, 4096, stream.length]) {
      const got: Buffer[] = [];
      const r = new FrameReader((m) => got.push(Buffer.from(dataFieldOf(m, 2)!)));
      for (let off = 0; off < stream.length; off += step)
        assert.equal(r.push(stream.subarray(off, off + step)), undefined);
      assert.deepEqual(got, msgs);
    }
  });

  it("rejects oversized, compressed and malformed input", () => {
    const big = Buffer.alloc(5);
    big.writeUInt32BE(10_000_000, 1);
    assert.match(String(new FrameReader(() => {}).push(big)), /exceeds/);
    assert.match(
      String(new FrameReader(() => {}).push(Buffer.from([1, 0, 0, 0, 0]))),
      /compressed/,
    );
    assert.ok(decodeMessage(TunnelRequestSchema, Buffer.from([0xff, 0xff, 0xff])) instanceof Error);
    const ok = encodeMessage(
      TunnelRequestSchema,
      create(TunnelRequestSchema, {
        payload: { case: "close", value: { code: 1, reason: "bye" } },
      }),
    );
    const dec = decodeMessage(TunnelRequestSchema, ok.subarray(5));
    assert.ok(
      !(dec instanceof Error) && dec.payload.case === "close" && dec.payload.value.reason === "bye",
    );
  });
});

describe("TunnelReader", () => {
  it("streams data payloads piece by piece and delivers control messages whole", () => {
    const close = encodeMessage(
      TunnelRequestSchema,
      create(TunnelRequestSchema, {
        payload: { case: "close", value: { code: 1, reason: "bye" } },
      }),
    );
    const datas = [3, 0, 1000, 70_000, 5].map((n, i) => Buffer.alloc(n, i + 1));
    const stream = Buffer.concat([...datas.flatMap((m) => [dataPrefix(2, m.length), m]), close]);
    for (const step of [1, 2, 3, 5, 7, 4096, stream.length]) {
      const data: Buffer[] = [];
      const control: Buffer[] = [];
      const r = new TunnelReader(2, (b, isData) => {
        if (isData) data.push(Buffer.from(b));
        else {
          const d = dataFieldOf(b, 2);
          if (d) data.push(Buffer.from(d));
          else if (b.length) control.push(Buffer.from(b));
        }
      });
      for (let off = 0; off < stream.length; off += step) {
        assert.equal(r.push(stream.subarray(off, off + step)), undefined);
      }
      assert.deepEqual(Buffer.concat(data), Buffer.concat(datas), `step ${step}`);
      assert.equal(control.length, 1);
      assert.deepEqual(control[0], close.subarray(5));
    }
  });

  it("rejects oversized and compressed messages", () => {
    const big = Buffer.alloc(5);
    big.writeUInt32BE(10_000_000, 1);
    assert.match(String(new TunnelReader(1, () => {}).push(big)), /exceeds/);
    assert.match(
      String(new TunnelReader(1, () => {}).push(Buffer.from([1, 0, 0, 0, 1, 0]))),
      /compressed/,
    );
  });

  it("marks a data piece whole only when it is the entire payload", () => {
    const small = Buffer.alloc(32, 9);
    const big = Buffer.alloc(50_000, 8);
    const stream = Buffer.concat([dataPrefix(1, 32), small, dataPrefix(1, big.length), big]);
    const seen: [number, boolean][] = [];
    const r = new TunnelReader(1, (b, isData, whole) => {
      if (isData) seen.push([b.length, whole]);
    });
    // The small message arrives in one chunk; the big one (9-byte prefix) is split in two.
    r.push(stream.subarray(0, 5 + 2 + 32 + 9 + 10_000));
    r.push(stream.subarray(5 + 2 + 32 + 9 + 10_000));
    assert.deepEqual(seen, [
      [32, true],
      [10_000, false],
      [40_000, false],
    ]);
  });
});
