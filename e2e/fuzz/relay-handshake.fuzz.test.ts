/**
 * Fuzzing the relay's viewer handshake with fast-check, seeded (FUZZ_SEED, FUZZ_RUNS): random
 * paths and tokens (including valid tokens with a few characters changed), raw bytes and
 * half-written HTTP on the relay's port, and random WebSocket frames (binary and text) from a
 * viewer that got in, through to the session's RFB stand-in. Properties: every refusal is an
 * HTTP status below 500 or one of the relay's documented close codes; a canary viewer of
 * another session is never interrupted; the relay stays healthy; nothing is left unhandled.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  RelayMemberSchema,
  RelayRingSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import fc from "fast-check";
import { createRelayLinks } from "../../agents/src/relay/index.ts";
import { type RelayServer, startRelayServer } from "../../dataplane/src/relay-server.ts";
import { createTestKeys, eventually, startRfbStandIn, Viewer } from "../relay-fixtures.ts";

const params = (runs: number) => ({
  seed: Number(process.env.FUZZ_SEED ?? 20_261_129),
  numRuns: Number(process.env.FUZZ_RUNS ?? runs),
});
/** Close codes the relay documents (dataplane/README.md), plus the protocol's own. */
const DOCUMENTED = new Set([
  1000, 1001, 1003, 1005, 1006, 1009, 1012, 1013, 4401, 4403, 4404, 4408, 4429,
]);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("relay viewer handshake (fuzz)", () => {
  let keys: Awaited<ReturnType<typeof createTestKeys>>;
  let vnc: Awaited<ReturnType<typeof startRfbStandIn>>;
  let relay: RelayServer;
  let links: ReturnType<typeof createRelayLinks>;
  let canary: Viewer;
  const agentId = "agent-f";
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);

  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    keys = await createTestKeys();
    vnc = await startRfbStandIn(256);
    relay = await startRelayServer(
      {
        port: 0,
        host: "127.0.0.1",
        relayId: "relay-f",
        publicUrl: "http://127.0.0.1:0",
        membershipTtlMs: 5000,
        viewerJwks: keys.jwks,
        idleTimeoutMs: 600_000,
        tunnelSetupTimeoutMs: 3000,
        logLevel: "warn",
        maxViewersPerSession: 1000,
      },
      { log: quiet },
    );
    links = createRelayLinks({ agentId, log: quiet });
    links.updateRing(
      create(RelayRingSchema, {
        epoch: 1n,
        members: [create(RelayMemberSchema, { id: "relay-f", url: relay.url })],
        relayToken: await keys.relayToken(agentId),
      }),
    );
    const at = { host: vnc.host, port: vnc.port };
    links.sessionsChanged(
      new Map([
        ["s1", at],
        ["canary", at],
      ]),
    );
    await eventually(() => assert.equal(relay.registry.sessions, 2));
    canary = new Viewer(
      `ws://127.0.0.1:${relay.port}/vnc/canary?token=${await keys.viewerToken("canary", agentId)}`,
    );
    await canary.waitFor(12);
  });

  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    canary?.close();
    await links?.close();
    await relay?.close();
    await vnc?.stop();
  });

  /** Opens a viewer and waits until it is refused or has been in for a moment. */
  async function outcome(v: Viewer): Promise<string> {
    const opened = await v.opened.then(
      () => true,
      () => false,
    );
    if (!opened) {
      const c = await v.waitClosed();
      return c.reason.startsWith("HTTP") ? c.reason : `close ${c.code}`;
    }
    v.close();
    return "opened";
  }

  test("random paths and tokens, and tampered valid tokens, are refused with documented answers", async () => {
    const token = await keys.viewerToken("s1", agentId);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 80 }).map((p) => `/${encodeURIComponent(p)}`),
          fc.string({ maxLength: 200 }).map((t) => `/vnc/s1?token=${encodeURIComponent(t)}`),
          fc
            .array(fc.tuple(fc.nat(), fc.constantFrom(..."ABCxyz019-_.")), {
              minLength: 1,
              maxLength: 3,
            })
            .map((edits) => {
              const chars = [...token];
              for (const [at, c] of edits) chars[at % chars.length] = c;
              return `/vnc/s1?token=${chars.join("")}`;
            }),
          fc.constantFrom("/vnc/", "/vnc/%00", `/vnc/${"a".repeat(200)}?token=${token}`, "/vnc/s1"),
        ),
        async (path) => {
          const got = await outcome(new Viewer(`ws://127.0.0.1:${relay.port}${path}`));
          const m = /^HTTP (\d+)$/.exec(got);
          if (m) assert.ok(Number(m[1]) < 500, `${path} answered ${got}`);
          else if (got !== "opened")
            assert.ok(DOCUMENTED.has(Number(got.slice(6))), `${path}: ${got}`);
        },
      ),
      params(150),
    );
  });

  test("raw bytes and half-written HTTP on the relay's port never hurt it", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
          fc
            .tuple(
              fc.string({ maxLength: 60 }),
              fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }),
            )
            .map(([path, headers]) =>
              Buffer.from(
                `GET /vnc/${path} HTTP/1.1\r\nUpgrade: websocket\r\n${headers.join("\r\n")}\r\n\r\n`,
              ),
            ),
        ),
        async (bytes) => {
          await new Promise<void>((resolve) => {
            const s = connect(relay.port, "127.0.0.1");
            s.on("error", () => resolve());
            s.on("close", () => resolve());
            s.on("data", () => {});
            s.setTimeout(300, () => s.destroy());
            s.once("connect", () => s.end(bytes));
          });
        },
      ),
      params(150),
    );
    assert.equal((await fetch(`${relay.url}/health`)).status, 200);
  });

  test("random frames from a viewer that got in are relayed or refused, never worse", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)),
            fc.string({ maxLength: 100 }),
          ),
          { maxLength: 8 },
        ),
        async (frames) => {
          const v = new Viewer(
            `ws://127.0.0.1:${relay.port}/vnc/s1?token=${await keys.viewerToken("s1", agentId)}`,
          );
          await v.opened;
          for (const f of frames) if (v.ws.readyState === v.ws.OPEN) v.ws.send(f);
          const text = frames.some((f) => typeof f === "string");
          if (text) assert.equal((await v.waitClosed()).code, 1003);
          v.close();
        },
      ),
      params(60),
    );
  });

  test("afterwards: the canary viewer was never interrupted and nothing was left unhandled", async () => {
    assert.equal(canary.closed, undefined);
    canary.ws.send(Buffer.from("still here"));
    await canary.waitFor(12 + 256 + 10);
    assert.equal((await fetch(`${relay.url}/health`)).status, 200);
    assert.deepEqual(unhandled, []);
  });
});
