/**
 * What broke: request bytes that do not parse as the method's message answered INTERNAL, the
 * code of a server fault. Connect: an `application/proto` body `0a ff ff ff ff 0f 01 02` got
 * HTTP 500 "parse binary: premature EOF", and invalid UTF-8 in a string field the same 500;
 * gRPC: a frame whose payload does not parse got grpc-status 13. A client's bad bytes are
 * INVALID_ARGUMENT on every protocol (Connect, gRPC, gRPC-web), unary and streaming, including
 * the agents' stream. Raw HTTP against a real pod, so no client library smooths anything over.
 */
import assert from "node:assert/strict";
import { request as h1request } from "node:http";
import { connect as h2connect } from "node:http2";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { startTestControlPlane, type TestControlPlane } from "../testing/test-control-plane.ts";

/** The body of the report: a length-delimited field 1 whose varint length runs past the end. */
const TRUNCATED = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
/** Field 1 (a string) holding the invalid UTF-8 sequence C3 28. */
const BAD_UTF8 = Uint8Array.from([0x0a, 0x02, 0xc3, 0x28]);

let cp: TestControlPlane;
let admin: string;
before(async () => {
  cp = await startTestControlPlane();
  admin = await cp.adminToken();
});
after(async () => cp?.close());

const frame = (flags: number, data: Uint8Array) => {
  const out = Buffer.alloc(5 + data.byteLength);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
};

/** One HTTP/1.1 request; resolves with status, headers and the whole body. */
function post(path: string, headers: Record<string, string>, body: Uint8Array) {
  const url = new URL(path, cp.url);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
    (resolve, reject) => {
      const req = h1request(url, { method: "POST", headers }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
          }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    },
  );
}

/** One gRPC call over h2c; resolves with grpc-status and grpc-message (headers or trailers). */
function grpc(path: string, body: Uint8Array, headers: Record<string, string> = {}) {
  return new Promise<{ status: string; message: string }>((resolve, reject) => {
    const session = h2connect(cp.url);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...headers,
    });
    let status = "";
    let message = "";
    const take = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) message = decodeURIComponent(String(h["grpc-message"]));
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", () => {});
    stream.on("end", () => {
      session.close();
      resolve({ status, message });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

/** Reads the trailer frame (flag 0x80) of a gRPC-web body. */
function grpcWebTrailer(body: Buffer): Record<string, string> {
  let at = 0;
  while (at + 5 <= body.byteLength) {
    const flags = body[at] ?? 0;
    const len = body.readUInt32BE(at + 1);
    if (flags & 0x80) {
      const out: Record<string, string> = {};
      for (const line of body
        .subarray(at + 5, at + 5 + len)
        .toString()
        .split("\r\n")) {
        const i = line.indexOf(":");
        if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      return out;
    }
    at += 5 + len;
  }
  return {};
}

const INVALID = String(Code.InvalidArgument);

describe("request bytes that do not parse", () => {
  test("Connect unary, truncated field: HTTP 400 invalid_argument naming the message", async () => {
    const res = await post(
      "/streamspace.v1.AuthService/Login",
      { "content-type": "application/proto", "connect-protocol-version": "1" },
      TRUNCATED,
    );
    const err = JSON.parse(res.body.toString());
    assert.deepEqual([res.status, err.code], [400, "invalid_argument"]);
    assert.match(err.message, /not a valid streamspace\.v1\.LoginRequest/);
  });

  test("Connect unary, invalid UTF-8 in a string field: HTTP 400 invalid_argument", async () => {
    const res = await post(
      "/streamspace.v1.AuthService/Login",
      { "content-type": "application/proto", "connect-protocol-version": "1" },
      BAD_UTF8,
    );
    assert.deepEqual([res.status, JSON.parse(res.body.toString()).code], [400, "invalid_argument"]);
  });

  test("Connect unary on a signed-in method: invalid_argument, not internal", async () => {
    const res = await post(
      "/streamspace.v1.SessionService/GetSession",
      {
        "content-type": "application/proto",
        "connect-protocol-version": "1",
        authorization: `Bearer ${admin}`,
      },
      TRUNCATED,
    );
    assert.deepEqual([res.status, JSON.parse(res.body.toString()).code], [400, "invalid_argument"]);
  });

  test("gRPC unary, a frame whose payload does not parse: grpc-status 3", async () => {
    for (const payload of [TRUNCATED, BAD_UTF8]) {
      const r = await grpc("/streamspace.v1.AuthService/Login", frame(0, payload));
      assert.equal(r.status, INVALID, r.message);
      assert.match(r.message, /LoginRequest/);
    }
  });

  test("gRPC-web unary: the trailer frame says grpc-status 3", async () => {
    const res = await post(
      "/streamspace.v1.AuthService/Login",
      { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      frame(0, TRUNCATED),
    );
    assert.equal(res.status, 200);
    const trailer = grpcWebTrailer(res.body);
    assert.equal(trailer["grpc-status"], INVALID, JSON.stringify(trailer));
  });

  test("server streaming (WatchSessions) on gRPC and Connect: invalid_argument", async () => {
    const r = await grpc("/streamspace.v1.SessionService/WatchSessions", frame(0, TRUNCATED), {
      authorization: `Bearer ${admin}`,
    });
    assert.equal(r.status, INVALID, r.message);
    const res = await post(
      "/streamspace.v1.SessionService/WatchSessions",
      {
        "content-type": "application/connect+proto",
        "connect-protocol-version": "1",
        authorization: `Bearer ${admin}`,
      },
      frame(0, TRUNCATED),
    );
    // The Connect streaming protocol ends with a JSON end-stream frame (flag 0x02).
    const end = JSON.parse(res.body.subarray(5).toString());
    assert.equal(end.error?.code, "invalid_argument", res.body.toString());
  });

  test("the agents' stream: a frame that does not parse ends it with grpc-status 3", async () => {
    const r = await grpc("/streamspace.agent.v1.AgentGateway/Connect", frame(0, TRUNCATED), {
      "x-streamspace-bootstrap-token": "test-bootstrap-token",
    });
    assert.equal(r.status, INVALID, r.message);
  });
});
