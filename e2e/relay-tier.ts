/**
 * The relay tier scaled out, shared by the relay-cluster e2e test and the relay failover
 * benchmark: relay processes behind HAProxy (deploy/local), real Redis membership, the control
 * plane's Redis ring source feeding an agent's createRelayLinks, and a scripted RFB stand-in
 * behind every session. Viewers go through HAProxy. Disposing it stops all of it.
 */
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  RelayMemberSchema,
  RelayRingSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { createRelayLinks } from "../agents/src/relay/index.ts";
import type { RelayRingSnapshot } from "../control-plane/src/gateway/relay-ring-source.ts";
import { createRedisRelayRingSource } from "../control-plane/src/relay-ring/redis-relay-ring-source.ts";
import { type LocalCluster, startLocalCluster } from "../deploy/local/cluster.ts";
import {
  createTestKeys,
  eventually,
  RFB_GREETING,
  scriptedBytes,
  sha,
  startRfbStandIn,
  Viewer,
  WAIT,
} from "./relay-fixtures.ts";

const quiet = { debug() {}, info() {}, warn() {} };
const AGENT = "agent-e2e";

export interface RelayTierOptions {
  relays: number;
  sessions: string[];
  spareRelaySlots?: number;
  /** Relay membership TTL: how soon a killed relay leaves the ring. */
  relayTtlMs?: number;
  /** Keep every process's log here (and run them at debug level). */
  logDir?: string;
}

/** Starts the tier and waits until every session has an owner relay. */
export async function startRelayTier(opts: RelayTierOptions) {
  const keys = await createTestKeys();
  const vnc = await startRfbStandIn(16 * 1024);
  const cleanups: Array<() => Promise<unknown> | unknown> = [() => vnc.stop()];
  const dispose = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const cluster: LocalCluster = await startLocalCluster({
      controlPlanes: 0,
      relays: opts.relays,
      spareRelaySlots: opts.spareRelaySlots ?? 0,
      relayTtlMs: opts.relayTtlMs ?? 1500,
      viewerJwks: keys.jwks,
      logDir: opts.logDir,
      env: opts.logDir ? { LOG_LEVEL: "debug" } : {},
    });
    cleanups.push(() => cluster.stop());
    const ringSource = await createRedisRelayRingSource({ url: cluster.redisUrl, pollMs: 100 });
    cleanups.push(() => ringSource.close());
    const links = createRelayLinks({ agentId: AGENT, log: quiet });
    cleanups.push(() => links.close());
    const relayToken = await keys.relayToken(AGENT);
    const push = (r: RelayRingSnapshot) =>
      links.updateRing(
        create(RelayRingSchema, {
          epoch: r.epoch,
          members: r.members.map((m) => create(RelayMemberSchema, m)),
          relayToken,
        }),
      );
    await eventually(() => assert.equal(ringSource.current().members.length, opts.relays), {
      timeoutMs: WAIT.slow,
    });
    push(ringSource.current());
    ringSource.subscribe(push);
    links.sessionsChanged(
      new Map(opts.sessions.map((s) => [s, { host: vnc.host, port: vnc.port }])),
    );
    const sessionsOn = async (url: string): Promise<string[]> => {
      const res = await fetch(`${url}/debug/sessions`, {
        headers: { authorization: `Bearer ${cluster.relayDebugToken}` },
      });
      return ((await res.json()) as { sessions: string[] }).sessions;
    };
    await eventually(
      async () => {
        const all = (await Promise.all(cluster.relays.map((r) => sessionsOn(r.url)))).flat();
        assert.equal(all.length, opts.sessions.length);
      },
      { timeoutMs: WAIT.slow },
    );
    const front = cluster.relayFrontUrl.replace("http", "ws");
    /** What every viewer receives first: the RFB greeting and the stand-in's bulk bytes. */
    const preamble = Buffer.concat([RFB_GREETING, scriptedBytes("bulk", vnc.bulkBytes)]);
    const open = async (sid: string) =>
      new Viewer(`${front}/vnc/${sid}?token=${await keys.viewerToken(sid, AGENT)}`);
    return {
      cluster,
      ringSource,
      vnc,
      preamble,
      sessionsOn,
      open,
      /** Sends 20 kB of scripted bytes and checks the echo, hash for hash. */
      async exchange(v: Viewer, sid: string, round: string) {
        const start = v.received;
        const script = scriptedBytes(`${sid}-${round}`, 20_000);
        for (let off = 0; off < script.length; off += 4_000)
          v.ws.send(script.subarray(off, off + 4_000));
        const got = await v.waitFor(start + script.length, WAIT.long);
        assert.equal(
          sha(got.subarray(start, start + script.length)),
          sha(script),
          `${sid} ${round}`,
        );
      },
      /**
       * Opens viewers for `sid` until one receives the preamble (a viewer that lands on a
       * relay still leaving the ring is closed and retried); gives up after `hangMs`.
       */
      async reconnect(sid: string, hangMs: number): Promise<Viewer> {
        const deadline = Date.now() + hangMs;
        for (;;) {
          const v = await open(sid);
          try {
            await v.waitFor(preamble.length, WAIT.medium);
            return v;
          } catch (err) {
            v.close();
            if (Date.now() > deadline) throw new Error(`${sid} could not reconnect: ${err}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}
