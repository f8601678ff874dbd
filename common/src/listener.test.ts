import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { describe, test } from "node:test";
import { isHttp2Preface, listen, pathOf, refuseUpgrade, sendJson } from "./listener.ts";

function h2Get(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(url);
    client.on("error", reject);
    const req = client.request({ ":path": path });
    let body = "";
    let status = 0;
    req.on("response", (h) => {
      status = Number(h[":status"]);
    });
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
    });
    req.on("end", () => {
      client.close();
      resolve({ status, body });
    });
    req.on("error", reject);
  });
}

function rawExchange(port: number, send: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(send));
    let got = "";
    s.setEncoding("latin1");
    s.on("data", (c: string) => {
      got += c;
    });
    s.on("close", () => resolve(got));
    s.on("error", reject);
  });
}

describe("listener", () => {
  test("serves HTTP/1.1 and h2c on one port with one handler", async () => {
    await using l = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: (req, res) => sendJson(res, 200, { path: pathOf(req), v: req.httpVersion, n: 1n }),
    });
    const r1 = await fetch(`${l.url}/a?b=c`);
    assert.deepEqual(await r1.json(), { path: "/a", v: "1.1", n: "1" });
    assert.equal(r1.headers.get("cache-control"), "no-store");
    const r2 = await h2Get(l.url, "/x?y");
    assert.equal(r2.status, 200);
    assert.deepEqual(JSON.parse(r2.body), { path: "/x", v: "2.0", n: "1" });
  });

  test("upgrades go to onUpgrade, or are refused with 404 without one", async () => {
    await using plain = await listen({ host: "127.0.0.1", port: 0, onRequest: () => {} });
    const upgrade =
      "GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n";
    assert.match(await rawExchange(plain.port, upgrade), /^HTTP\/1.1 404 Not Found/);
    await using l = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: () => {},
      onUpgrade: (req, socket) => refuseUpgrade(socket, 503, `Busy ${req.url}`),
    });
    assert.match(await rawExchange(l.port, upgrade), /^HTTP\/1.1 503 Busy \/ws\r\n/);
  });

  test("claim takes connections by their first bytes before HTTP sniffing", async () => {
    await using l = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: (_req, res) => res.end("http"),
      claim: (socket, first) => {
        if (first[0] !== 0x00) return false;
        socket.end(`claimed ${first.length}`);
        return true;
      },
    });
    assert.equal(await rawExchange(l.port, Buffer.from([0, 1, 2])), "claimed 3");
    assert.equal(await (await fetch(l.url)).text(), "http");
  });

  test("onStream receives raw HTTP/2 streams instead of onRequest", async () => {
    let requests = 0;
    await using l = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: () => requests++,
      onStream: (stream, headers) => {
        stream.respond({ ":status": 200 });
        stream.end(`raw ${headers[":path"]}`);
      },
      keepaliveMs: 0,
    });
    assert.deepEqual(await h2Get(l.url, "/svc/Method"), { status: 200, body: "raw /svc/Method" });
    assert.equal(requests, 0);
  });

  test("close with no grace destroys open connections and frees the port", async () => {
    const l = await listen({ host: "127.0.0.1", port: 0, onRequest: () => {} });
    const s = net.connect(l.port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.write("GET /hang HTTP/1.1\r\nhost: x\r\n\r\n");
    const closed = new Promise((r) => s.once("close", r));
    s.on("error", () => {});
    await l.close(0);
    await closed;
    await assert.rejects(fetch(l.url));
  });

  test("a port in use is a rejected listen, not a crash", async () => {
    await using a = await listen({ host: "127.0.0.1", port: 0, onRequest: () => {} });
    await assert.rejects(
      listen({ host: "127.0.0.1", port: a.port, onRequest: () => {} }),
      /EADDRINUSE/,
    );
  });

  test("the preface check accepts partial prefaces and refuses HTTP/1 verbs", () => {
    assert.ok(isHttp2Preface(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")));
    assert.ok(isHttp2Preface(Buffer.from("PRI")));
    assert.equal(isHttp2Preface(Buffer.from("POST / HTTP/1.1")), false);
    assert.equal(isHttp2Preface(Buffer.alloc(0)), false);
  });
});
