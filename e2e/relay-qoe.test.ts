/**
 * Per-session QoE and input activity at the relay, end to end in one process: the built-in
 * VNC server behind a real relay and agent links, a WebSocket viewer speaking RFB. Checks that
 * frame requests, input messages, reconnects and round trips are measured, that /activity
 * serves them to a read token only, and that /metrics carries no session id. Both viewer paths
 * run the same checks: the agent's tunnel, and direct mode (the relay dials the VNC server).
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  RelayMemberSchema,
  RelayRingSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionActivityReportSchema } from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import { createRelayLinks } from "../agents/src/relay/index.ts";
import { DemoDesktop } from "../agents/src/vnc/demo-desktop.ts";
import { createRfbServer } from "../agents/src/vnc/rfb-server.ts";
import { createLogger } from "../common/src/log.ts";
import type { RelayConfig } from "../dataplane/src/config.ts";
import { type RelayServer, startRelayServer } from "../dataplane/src/relay-server.ts";
import { createTestKeys, eventually, Viewer, WAIT } from "./relay-fixtures.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const SID = "qoe-session-1";
const u16 = (n: number) => [n >> 8, n & 255];
const fbRequest = (incremental: boolean) =>
  Buffer.from([3, incremental ? 1 : 0, ...u16(0), ...u16(0), ...u16(320), ...u16(200)]);
const key = (down: boolean, sym: number) =>
  Buffer.from([4, down ? 1 : 0, 0, 0, 0, 0, sym >> 8, sym & 255]);

for (const mode of ["tunnel", "direct"] as const)
  describe(`relay QoE and input activity (${mode} path)`, () => {
    let keys: Awaited<ReturnType<typeof createTestKeys>>;
    let relay: RelayServer;
    let links: ReturnType<typeof createRelayLinks>;
    const desktop = new DemoDesktop(320, 200, "QoE test");
    const vnc = createRfbServer({
      desktop,
      name: "QoE test",
      log: createLogger({ level: "warn" }),
    });

    before(async () => {
      keys = await createTestKeys();
      await new Promise<void>((r) => vnc.listen(0, "127.0.0.1", r));
      const config: RelayConfig = {
        port: 0,
        host: "127.0.0.1",
        relayId: "relay-q",
        publicUrl: "http://127.0.0.1:0",
        membershipTtlMs: 5000,
        viewerJwks: keys.jwks,
        idleTimeoutMs: 60_000,
        tunnelSetupTimeoutMs: 3000,
        logLevel: "warn",
        ...(mode === "direct" ? { directNets: "127.0.0.0/8" } : {}),
      };
      relay = await startRelayServer(config, { log: quiet });
      links = createRelayLinks({ agentId: "agent-q", log: quiet, direct: mode === "direct" });
      links.updateRing(
        create(RelayRingSchema, {
          epoch: 1n,
          members: [create(RelayMemberSchema, { id: "relay-q", url: relay.url })],
          relayToken: await keys.relayToken("agent-q"),
        }),
      );
      const port = (vnc.address() as AddressInfo).port;
      links.sessionsChanged(new Map([[SID, { host: "127.0.0.1", port }]]));
      await eventually(() => assert.equal(relay.registry.sessions, 1));
    });

    after(async () => {
      await links?.close();
      await relay?.close();
      vnc.close();
    });

    async function activity(token?: string) {
      const res = await fetch(`${relay.url}/activity`, {
        headers: { authorization: `Bearer ${token ?? (await keys.relayReadToken())}` },
      });
      if (res.status !== 200) return { status: res.status, text: await res.text() };
      const report = fromBinary(
        SessionActivityReportSchema,
        new Uint8Array(await res.arrayBuffer()),
      );
      return { status: 200, report, one: report.sessions.find((s) => s.sessionId === SID) };
    }

    /** An RFB viewer over the relay: handshake, a full frame, then the incremental request. */
    async function openViewer(): Promise<Viewer> {
      const v = new Viewer(
        `ws://127.0.0.1:${relay.port}/vnc/${SID}?token=${encodeURIComponent(await keys.viewerToken(SID, "agent-q"))}`,
      );
      await v.opened;
      await v.waitFor(12);
      v.ws.send(Buffer.from("RFB 003.008\n"));
      await v.waitFor(14);
      v.ws.send(Buffer.from([1]));
      v.ws.send(Buffer.from([1]));
      const initEnd = 12 + 2 + 4 + 24 + "QoE test".length;
      await v.waitFor(initEnd);
      v.ws.send(fbRequest(false));
      await v.waitFor(initEnd + 4 + 12 + 320 * 200 * 4);
      v.ws.send(fbRequest(true));
      assert.equal(
        relay.metrics.directTotal > 0,
        mode === "direct",
        `the viewer took the ${mode} path`,
      );
      return v;
    }

    it("measures frames and time to first frame; no input yet means no last-input time", async () => {
      const v = await openViewer();
      try {
        const a = await eventually(async () => {
          const r = await activity();
          assert.ok(r.one && r.one.timeToFirstFrameMs > 0, "time to first frame measured");
          return r;
        });
        assert.equal(a.one?.viewers, 1);
        assert.equal(a.one?.connects, 1);
        assert.equal(a.one?.lastInputUnixMs, 0n, "frame requests are not input");
        // Rates are per 2 s window: a frame and its bytes show up in one of the next windows.
        await eventually(
          async () => {
            const r = await activity();
            assert.ok((r.one?.rttMs ?? 0) > 0, "a ping round trip was measured");
          },
          { timeoutMs: WAIT.long },
        );
      } finally {
        v.close();
      }
    });

    it("records the last key and pointer input, counts reconnects, and serves it to a read token only", async () => {
      const before = Date.now();
      const v = await openViewer();
      try {
        v.ws.send(key(true, 0x61));
        v.ws.send(key(false, 0x61));
        v.ws.send(Buffer.from([5, 0, ...u16(10), ...u16(10)]));
        const r = await eventually(async () => {
          const got = await activity();
          assert.ok((got.one?.lastInputUnixMs ?? 0n) >= BigInt(before), "input recorded");
          return got;
        });
        assert.equal(r.one?.connects, 2, "the second viewer of the session is a reconnect");
        const refused = await activity(await keys.relayToken("agent-q"));
        assert.equal(refused.status, 401, "an agent's relay token cannot read activity");
        assert.match(String(refused.text), /read token rejected/);
        assert.equal((await activity("nonsense")).status, 401);
        const metrics = await (await fetch(`${relay.url}/metrics`)).text();
        assert.match(metrics, /streamspace_vnc_input_events_total\{relay="relay-q",kind="key"\} 2/);
        assert.match(
          metrics,
          /streamspace_vnc_input_events_total\{relay="relay-q",kind="pointer"\} 1/,
        );
        assert.match(metrics, /streamspace_vnc_viewer_reconnects_total\{relay="relay-q"\} 1/);
        assert.match(
          metrics,
          /streamspace_vnc_time_to_first_frame_seconds_count\{relay="relay-q"\} 2/,
        );
        assert.ok(!metrics.includes(SID), "no session id in any metric label");
      } finally {
        v.close();
      }
      await eventually(async () => assert.equal((await activity()).one?.viewers, 0));
    });
  });
