/**
 * What broke: CreateSession with no agent online answered RESOURCE_EXHAUSTED (HTTP 429 on
 * tRPC), which tells a client to back off and retry as if the system were busy. The three cases
 * must be told apart on both roads, through the one error table:
 *  - no agent that could ever run the template is registered → FAILED_PRECONDITION;
 *  - matching agents exist but none is online (offline, draining) → UNAVAILABLE;
 *  - matching agents are online and full → RESOURCE_EXHAUSTED.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { TRPCClientError } from "@trpc/client";
import { startTestConnectServer, type TestConnectServer } from "../connect/test-server.ts";
import { ERROR_TABLE } from "../edge/error-table.ts";
import { addAgent, addTemplate, type CoreFixture, createCoreFixture } from "../store/test-kit.ts";
import { startTrpcFixture, type TrpcFixture } from "../trpc/trpc-test-kit.ts";

let core: CoreFixture;
let srv: TestConnectServer;
let fx: TrpcFixture;

before(async () => {
  core = await createCoreFixture();
  srv = await startTestConnectServer(core);
  fx = await startTrpcFixture();
});
after(async () => {
  await srv?.[Symbol.asyncDispose]();
  await core?.[Symbol.asyncDispose]();
  await fx?.[Symbol.asyncDispose]();
});

async function connectCode(template: string): Promise<Code> {
  const c = createClient(SessionService, createGrpcTransport({ baseUrl: srv.url }));
  try {
    await c.createSession({ template }, { headers: { "x-test-principal": "alice" } });
  } catch (err) {
    return ConnectError.from(err).code;
  }
  assert.fail("CreateSession was accepted");
}

async function trpcCode(template: string): Promise<string> {
  const { client } = await fx.login("alice");
  try {
    await client.sessions.create.mutate({ template });
  } catch (err) {
    assert.ok(err instanceof TRPCClientError, String(err));
    return String(err.data?.code);
  }
  assert.fail("sessions.create was accepted");
}

/** Moves every agent of the tRPC fixture's database to `state`. */
async function setAgents(ids: string[], state: "online" | "offline" | "draining") {
  for (const id of ids) await fx.store.agents.setState(id, state);
}

describe("CreateSession when it cannot be placed", () => {
  test("no agent that could run the template: FAILED_PRECONDITION on Connect and tRPC", async () => {
    await addTemplate(core, "mars-only", { region: "mars" });
    assert.equal(Code[await connectCode("mars-only")], Code[Code.FailedPrecondition]);
    // The tRPC fixture's database has the default templates and no agent yet.
    assert.equal(await trpcCode("demo-desktop"), ERROR_TABLE.failed_precondition.trpc);
  });

  test("matching agents registered but none online: UNAVAILABLE", async () => {
    await addAgent(core, { id: "away-1", region: "moon", state: "offline" });
    await addAgent(core, { id: "away-2", region: "moon", state: "draining" });
    await addTemplate(core, "moon-only", { region: "moon" });
    assert.equal(Code[await connectCode("moon-only")], Code[Code.Unavailable]);
    await fx.addAgent("t-away");
    await setAgents(["t-away"], "offline");
    assert.equal(await trpcCode("demo-desktop"), ERROR_TABLE.unavailable.trpc);
  });

  test("matching agents online and full: RESOURCE_EXHAUSTED", async () => {
    await addAgent(core, { id: "full-1", region: "venus", maxSessions: 1 });
    await addTemplate(core, "venus-only", { region: "venus" });
    const c = createClient(SessionService, createGrpcTransport({ baseUrl: srv.url }));
    await c.createSession({ template: "venus-only" }, { headers: { "x-test-principal": "bob" } });
    assert.equal(Code[await connectCode("venus-only")], Code[Code.ResourceExhausted]);
    await setAgents(["t-away"], "online");
    const { client } = await fx.login("bob");
    // The fixture's agents take 10 sessions each.
    for (let i = 0; i < 10; i++) await client.sessions.create.mutate({ template: "demo-desktop" });
    assert.equal(await trpcCode("demo-desktop"), ERROR_TABLE.resource_exhausted.trpc);
  });
});
