import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import { hashCredential } from "../domain/credentials.ts";
import { createStaticRelayRingSource } from "../relay-ring/static-relay-ring-source.ts";
import { MemoryAgentRegistry } from "../store/memory-agent-registry.ts";
import { createGateway, type GatewayDeps } from "./agent-gateway.ts";
import { eventually, ScriptedAgent, startGatewayServer, WAIT } from "./gateway-test-kit.ts";

const BOOT = "boot-secret";
const RING = [{ id: "relay-0", url: "http://127.0.0.1:8081" }];

/** Records the cutoff of every silence sweep, so a test can wait for one instead of sleeping. */
class WatchedRegistry extends MemoryAgentRegistry {
  readonly sweeps: number[] = [];
  override expireSilent(before: Date): Promise<string[]> {
    this.sweeps.push(before.getTime());
    return super.expireSilent(before);
  }
}

async function fixture(over: Partial<GatewayDeps> = {}) {
  const registry = new WatchedRegistry();
  let clock = 1_000_000;
  const gateway = await createGateway({
    pod: "pod-a",
    registry,
    ring: createStaticRelayRingSource(RING, 7n),
    bootstrapToken: BOOT,
    autoApprove: true,
    log: { info() {}, warn() {}, error() {} },
    now: () => clock,
    ...over,
  });
  const server = await startGatewayServer(gateway);
  const open = (headers: Record<string, string>) => new ScriptedAgent(server.client, headers);
  const tick = (ms: number) => {
    clock += ms;
  };
  return {
    registry,
    gateway,
    server,
    open,
    tick,
    now: () => clock,
    [Symbol.asyncDispose]: server.close,
  };
}

const hello = (agentId: string) =>
  ({
    case: "hello",
    value: { agentId, platform: Platform.LOCAL, capacity: { maxSessions: 4 } },
  }) as const;

describe("AgentGateway.Connect", () => {
  test("enrols with the bootstrap token, welcomes, issues a credential once, stores only its hash", async () => {
    await using f = await fixture();
    await using a = f.open({ "x-streamspace-bootstrap-token": BOOT });
    a.send(hello("agent-1"));
    const welcome = await a.waitFor("welcome");
    assert.equal(welcome.pod, "pod-a");
    assert.equal(welcome.approved, true);
    assert.equal(welcome.heartbeatInterval?.seconds, 10n);
    assert.equal(welcome.ring?.epoch, 7n);
    assert.deepEqual(
      welcome.ring?.members.map((m) => ({ id: m.id, url: m.url })),
      RING,
    );
    const { credential } = await a.waitFor("credentialIssued");
    assert.match(credential, /^ssa_/);
    assert.deepEqual(a.kinds(), ["welcome", "credentialIssued"]);
    assert.equal(f.gateway.connectedAgents(), 1);
    const row = f.registry.rows.get("agent-1");
    assert.equal(row?.credentialHash, hashCredential(credential));
    assert.ok(
      !JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? 0 : v)).includes(credential),
    );

    a.finish();
    assert.equal(await a.ended, undefined);
    await eventually(() => f.gateway.connectedAgents() === 0);
    await using b = f.open({ authorization: `Bearer ${credential}` });
    b.send(hello("agent-1"));
    assert.equal((await b.waitFor("welcome")).approved, true);
    await eventually(() => f.gateway.connectedAgents() === 1);
    assert.deepEqual(b.kinds(), ["welcome"]);
  });

  test("the first message must be Hello", async () => {
    await using f = await fixture();
    await using a = f.open({ "x-streamspace-bootstrap-token": BOOT });
    a.send({ case: "heartbeat", value: { sequence: 1n } });
    const err = await a.ended;
    assert.equal(err?.code, Code.InvalidArgument);
    assert.equal(err?.rawMessage, "the first message must be Hello");
  });

  test("refuses missing, wrong and foreign credentials with a clear code", async () => {
    await using f = await fixture();
    const cases: [Record<string, string>, Code][] = [
      [{}, Code.Unauthenticated],
      [{ "x-streamspace-bootstrap-token": "nope" }, Code.Unauthenticated],
      [{ authorization: "Bearer ssa_unknown" }, Code.Unauthenticated],
    ];
    for (const [headers, code] of cases) {
      await using a = f.open(headers);
      a.send(hello("agent-1"));
      assert.equal((await a.ended)?.code, code, JSON.stringify(headers));
    }
    await using first = f.open({ "x-streamspace-bootstrap-token": BOOT });
    first.send(hello("agent-1"));
    const { credential } = await first.waitFor("credentialIssued");
    await using thief = f.open({ authorization: `Bearer ${credential}` });
    thief.send(hello("agent-2"));
    assert.equal((await thief.ended)?.code, Code.Unauthenticated);
  });

  test("rejects a malformed Hello and a second Hello", async () => {
    await using f = await fixture();
    await using bad = f.open({ "x-streamspace-bootstrap-token": BOOT });
    bad.send(hello("no spaces allowed"));
    const err = await bad.ended;
    assert.equal(err?.code, Code.InvalidArgument);
    assert.match(err?.rawMessage ?? "", /agent_id/);
    await using twice = f.open({ "x-streamspace-bootstrap-token": BOOT });
    twice.send(hello("agent-1"));
    await twice.waitFor("welcome");
    twice.send(hello("agent-1"));
    assert.equal((await twice.ended)?.code, Code.InvalidArgument);
  });

  test("without auto-approve an agent waits pending until a credential is pushed", async () => {
    await using f = await fixture({ autoApprove: false });
    await using a = f.open({ "x-streamspace-bootstrap-token": BOOT });
    a.send(hello("agent-1"));
    assert.equal((await a.waitFor("welcome")).approved, false);
    assert.equal(f.registry.rows.get("agent-1")?.enrolment, "pending");
    await f.gateway.issueCredential("agent-1", "ssa_given");
    assert.equal((await a.waitFor("credentialIssued")).credential, "ssa_given");
    assert.equal(f.gateway.connection("agent-1")?.approved, true);
  });

  test("a revoked agent is cut at once and refused afterwards", async () => {
    await using f = await fixture();
    await using a = f.open({ "x-streamspace-bootstrap-token": BOOT });
    a.send(hello("agent-1"));
    const { credential } = await a.waitFor("credentialIssued");
    f.registry.revoke("agent-1");
    await f.gateway.cutAgent("agent-1", "Agent revoked by an admin.");
    const err = await a.ended;
    assert.equal(err?.code, Code.PermissionDenied);
    await eventually(() => f.gateway.connectedAgents() === 0);
    await using again = f.open({ authorization: `Bearer ${credential}` });
    again.send(hello("agent-1"));
    assert.equal((await again.ended)?.code, Code.PermissionDenied);
    await using boot = f.open({ "x-streamspace-bootstrap-token": BOOT });
    boot.send(hello("agent-1"));
    assert.equal((await boot.ended)?.code, Code.PermissionDenied);
  });

  test("heartbeats keep a stream alive; silence past the timeout cuts it and marks offline", async () => {
    await using f = await fixture({ heartbeatTimeoutMs: 30_000, sweepEveryMs: 20 });
    await using a = f.open({ "x-streamspace-bootstrap-token": BOOT });
    a.send(hello("agent-1"));
    await a.waitFor("welcome");
    assert.equal(f.registry.rows.get("agent-1")?.online, true);
    f.tick(20_000);
    a.send({
      case: "heartbeat",
      value: { sequence: 1n, capacity: { maxSessions: 4, activeSessions: 2 } },
    });
    await eventually(() => f.gateway.connection("agent-1")?.lastSequence === 1n);
    f.tick(20_000);
    // A sweep at the new time (its silence check runs in the same turn as the stream check):
    // the heartbeat 20 s ago is still within the 30 s timeout.
    const cutoff = f.now() - 30_000;
    await eventually(() => f.registry.sweeps.includes(cutoff));
    assert.equal(f.gateway.connection("agent-1")?.open, true);
    assert.equal(f.gateway.connectedAgents(), 1);
    f.tick(11_000);
    const err = await a.ended;
    assert.equal(err?.code, Code.DeadlineExceeded);
    await eventually(() => f.registry.rows.get("agent-1")?.online === false);
    await eventually(() => f.registry.rows.get("agent-1")?.info?.capacity.activeSessions === 2);
  });

  test("a newer stream of the same agent replaces the older one", async () => {
    await using f = await fixture();
    await using a = f.open({ "x-streamspace-bootstrap-token": BOOT });
    a.send(hello("agent-1"));
    const { credential } = await a.waitFor("credentialIssued");
    await using b = f.open({ authorization: `Bearer ${credential}` });
    b.send(hello("agent-1"));
    await b.waitFor("welcome");
    assert.equal((await a.ended)?.code, Code.Aborted);
    assert.equal(f.gateway.connectedAgents(), 1);
    assert.equal(f.registry.rows.get("agent-1")?.online, true);
  });

  test("drain sends Reconnect to every agent, turns not-ready and refuses new streams", async () => {
    await using f = await fixture();
    const agents = [1, 2, 3].map((i) => {
      const a = f.open({ "x-streamspace-bootstrap-token": BOOT });
      a.send(hello(`agent-${i}`));
      return a;
    });
    await Promise.all(agents.map((a) => a.waitFor("welcome")));
    assert.equal(f.gateway.status().ready, true);
    const drained = f.gateway.drain({ jitterMs: 500, deadlineMs: WAIT.long });
    assert.equal(f.gateway.status().detail, "draining");
    for (const a of agents) {
      const r = await a.waitFor("reconnect");
      assert.ok(Number(r.delay?.seconds ?? 0n) * 1000 + (r.delay?.nanos ?? 0) / 1e6 < 500);
      assert.equal(await a.ended, undefined);
    }
    await drained;
    assert.equal(f.gateway.connectedAgents(), 0);
    await using late = f.open({ "x-streamspace-bootstrap-token": BOOT });
    late.send(hello("agent-9"));
    assert.equal((await late.ended)?.code, Code.Unavailable);
  });
});
