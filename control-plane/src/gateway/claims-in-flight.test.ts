import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { CommandSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { AgentConnection } from "./agent-connection.ts";
import { commandDispatcher } from "./command-dispatcher.ts";
import type { GatewayDispatcher } from "./gateway-ports.ts";
import type { ClaimedAgentCommand, CommandAckRecord, OutboxClaims } from "./outbox-claims.ts";

const quiet = { info() {}, warn() {}, error() {} };
const turn = () => new Promise<void>((r) => setImmediate(r));

/** An outbox whose due-claims stay open until the test releases them. */
class GatedOutbox implements OutboxClaims {
  readonly calls: {
    agents: string[];
    acks: string[];
    release: (rows: ClaimedAgentCommand[]) => void;
  }[] = [];
  readonly ackWrites: string[][] = [];
  claim = async () => [];
  claimDue(
    agentIds: string[],
    _now: Date,
    _deadline: Date,
    _limit: number,
    acks: CommandAckRecord[] = [],
  ): Promise<ClaimedAgentCommand[]> {
    return new Promise((release) =>
      this.calls.push({ agents: [...agentIds], acks: acks.map((a) => a.commandId), release }),
    );
  }
  acknowledge = async (acks: CommandAckRecord[]) => {
    this.ackWrites.push(acks.map((a) => a.commandId));
    return acks.length;
  };
  agentsWithDue = async () => [];
  expired = async () => [];
}

const row = (agentId: string, id: string): ClaimedAgentCommand => ({
  id,
  agentId,
  payload: toBinary(CommandSchema, create(CommandSchema, { commandId: id })),
});

function setup(claimsInFlight?: number, ackHoldMs?: number) {
  const outbox = new GatedOutbox();
  const conns = new Map(
    ["a", "b", "c"].map((id) => [
      id,
      new AgentConnection(id, `conn-${id}`, { nowMs: 0, approved: true, outboundLimit: 100 }),
    ]),
  );
  const d: GatewayDispatcher = commandDispatcher({
    outbox,
    reports: { applyCommandResult: async () => undefined },
    sweepEveryMs: 60_000,
    claimsInFlight,
    ackHoldMs,
    log: quiet,
  })({ connection: (id) => conns.get(id), localAgentIds: () => [...conns.keys()] });
  /** Command ids queued on the agent's stream since the last call. */
  const sent = async (agentId: string) => {
    const q = conns.get(agentId)?.outbound;
    const it = q?.[Symbol.asyncIterator]();
    const out: string[] = [];
    while (q && it && q.size > 0) {
      const m = (await it.next()).value;
      if (m?.payload.case === "command") out.push(m.payload.value.commandId);
    }
    return out;
  };
  return { outbox, d, sent };
}

describe("due-claims in flight", () => {
  test("with one allowed, a poke during a claim waits for it, then shares the next claim", async () => {
    const { outbox, d } = setup(1);
    d.poke("a");
    await turn();
    d.poke("b");
    d.poke("c");
    await turn();
    assert.deepEqual(
      outbox.calls.map((c) => c.agents),
      [["a"]],
    );
    outbox.calls[0]?.release([]);
    await turn();
    assert.deepEqual(outbox.calls[1]?.agents.sort(), ["b", "c"]);
    outbox.calls[1]?.release([]);
    await d.close();
  });

  test("by default (two), another agent's claim starts at once; one agent is never in two", async () => {
    const { outbox, d, sent } = setup();
    d.poke("a");
    await turn();
    d.poke("b");
    await turn();
    assert.deepEqual(
      outbox.calls.map((c) => c.agents),
      [["a"], ["b"]],
    );
    // Both slots taken: "a" (still busy) and "c" wait.
    d.poke("a");
    d.poke("c");
    await turn();
    assert.equal(outbox.calls.length, 2);
    // Freeing b's slot starts c only; a stays out until its own claim ends.
    outbox.calls[1]?.release([row("b", "b1")]);
    await turn();
    assert.deepEqual(outbox.calls[2]?.agents, ["c"]);
    assert.deepEqual(await sent("b"), ["b1"]);
    outbox.calls[0]?.release([row("a", "a1")]);
    await turn();
    assert.deepEqual(outbox.calls[3]?.agents, ["a"]);
    outbox.calls[3]?.release([row("a", "a2")]);
    outbox.calls[2]?.release([]);
    await turn();
    assert.deepEqual(await sent("a"), ["a1", "a2"], "the agent's rows go out in claim order");
    await d.close();
  });
});

describe("acks ride on claims", () => {
  test("acks waiting when a claim starts go with it and get no write of their own", async () => {
    // A hold far longer than the test: only the claim can write these acks.
    const { outbox, d } = setup(2, 60_000);
    void d.ack("a", "c-1");
    void d.ack("b", "c-2");
    d.poke("c");
    await turn();
    assert.deepEqual(outbox.calls[0]?.acks, ["c-1", "c-2"]);
    outbox.calls[0]?.release([]);
    await d.idle();
    assert.deepEqual(outbox.ackWrites, [], "no separate ack statement");
    await d.close();
  });

  test("acks no claim picks up are written on their own after the hold", async () => {
    const { outbox, d } = setup(2, 1);
    void d.ack("a", "c-3");
    await d.idle();
    assert.deepEqual(outbox.ackWrites, [["c-3"]]);
    assert.equal(outbox.calls.length, 0);
    await d.close();
  });
});
