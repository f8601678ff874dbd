import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import net from "node:net";
import { describe, test } from "node:test";
import { createUpgradeForwarder, forwardUpgrade } from "./forward.ts";
import { listen } from "./listener.ts";

const UPGRADE =
  "GET /vnc/s1?x=1 HTTP/1.1\r\nhost: front\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n";

/** A target that answers the upgrade with 101, then echoes bytes upper-cased. */
async function echoTarget(seen: IncomingMessage[]) {
  return listen({
    host: "127.0.0.1",
    port: 0,
    onRequest: () => {},
    onUpgrade: (req, socket, head) => {
      seen.push(req);
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n",
      );
      if (head.length) socket.write(head.toString().toUpperCase());
      socket.on("data", (c: Buffer) => socket.write(c.toString().toUpperCase()));
    },
  });
}

function client(port: number) {
  const s = net.connect(port, "127.0.0.1");
  s.setEncoding("latin1");
  let got = "";
  s.on("data", (c: string) => {
    got += c;
  });
  s.on("error", () => {});
  return { s, got: () => got };
}

async function until(cond: () => boolean, what: string) {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("forward", () => {
  test("replays the upgrade with extra headers and splices both directions", async () => {
    const seen: IncomingMessage[] = [];
    await using target = await echoTarget(seen);
    await using front = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: () => {},
      onUpgrade: createUpgradeForwarder(target.url, { headers: { "x-hop": "front-1" } }),
    });
    const c = client(front.port);
    c.s.write(`${UPGRADE}early`);
    await until(() => c.got().includes("EARLY"), "early bytes echoed");
    c.s.write("late");
    await until(() => c.got().includes("LATE"), "late bytes echoed");
    assert.match(c.got(), /^HTTP\/1.1 101 /);
    assert.equal(seen[0]?.url, "/vnc/s1?x=1");
    assert.equal(seen[0]?.headers["x-hop"], "front-1");
    assert.equal(seen[0]?.headers.host, "front");
    const closed = new Promise((r) => c.s.once("close", r));
    await target.close(0);
    await closed;
  });

  test("an unreachable target is a rejection and the forwarder answers 502", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    await using front = await listen({
      host: "127.0.0.1",
      port: 0,
      onRequest: () => {},
      onUpgrade: createUpgradeForwarder(`http://127.0.0.1:${port}`),
    });
    const c = client(front.port);
    c.s.write(UPGRADE);
    await new Promise((r) => c.s.once("close", r));
    assert.match(c.got(), /^HTTP\/1.1 502 Bad Gateway/);
  });

  test("a target that never accepts is given up on at the connect deadline", async () => {
    // A socket that never connects stands in for a black-holed address (SYNs never answered).
    const req = { method: "GET", url: "/", rawHeaders: [] } as unknown as IncomingMessage;
    const client = new net.Socket();
    let dialled: net.Socket | undefined;
    await assert.rejects(
      forwardUpgrade(req, client, Buffer.alloc(0), "http://owner.invalid:9", {
        connectTimeoutMs: 50,
        dial: () => {
          dialled = new net.Socket();
          return dialled;
        },
      }),
      /connect to owner.invalid:9 timed out/,
    );
    assert.ok(dialled?.destroyed, "the half-open attempt is torn down");
    assert.equal(client.destroyed, false, "the client is left for the caller");
  });
});
