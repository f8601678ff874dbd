/**
 * Found by fuzzing (connect-methods.fuzz.test.ts, seed 20261129): a string holding U+0000 is
 * valid protobuf and valid JSON, but Postgres text cannot store it, so Login with username
 * "\u0000", GetTemplate or DeleteTemplate with id "\u0000" reached SQL and answered INTERNAL
 * ("invalid byte sequence for encoding UTF8: 0x00"), and the audit entry of the call could not
 * be written either. Such input is the caller's mistake: INVALID_ARGUMENT naming the field, on
 * both roads, and the call is still audited.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { createDatabase } from "../store/database.ts";
import { startTestControlPlane, type TestControlPlane } from "../testing/test-control-plane.ts";

let cp: TestControlPlane;
before(async () => {
  cp = await startTestControlPlane();
});
after(async () => cp?.close());

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "OK";
  } catch (err) {
    const ce = ConnectError.from(err);
    return `${Code[ce.code]}: ${ce.rawMessage}`;
  }
};

describe("a NUL character in a string field", () => {
  test("answers INVALID_ARGUMENT naming the field, and the call is audited", async () => {
    const t = createGrpcTransport({ baseUrl: cp.url });
    const auth = createClient(AuthService, t);
    const templates = createClient(TemplateService, t);
    const admin = { headers: { authorization: `Bearer ${await cp.adminToken()}` } };
    assert.equal(
      await codeOf(auth.login({ username: "\u0000", password: "x" })),
      "InvalidArgument: username: must not contain NUL characters (U+0000).",
    );
    assert.match(
      await codeOf(templates.getTemplate({ id: "\u0000" }, admin)),
      /^InvalidArgument: id:/,
    );
    assert.match(
      await codeOf(templates.deleteTemplate({ id: "demo\u0000" }, admin)),
      /^InvalidArgument: id:/,
    );
    const res = await fetch(`${cp.url}/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "a\u0000", password: "x" }),
    });
    assert.equal(res.status, 400);

    const { db } = await createDatabase({ databaseUrl: cp.databaseUrl, poolSize: 1 });
    try {
      const rows = await db
        .selectFrom("audit_log")
        .select(["target_id", "outcome"])
        .where("action", "=", "auth.login")
        .where("outcome", "=", "invalid_argument")
        .execute();
      assert.deepEqual(rows.map((r) => r.target_id).sort(), ["a\ufffd", "\ufffd"].sort());
    } finally {
      await db.destroy();
    }
  });
});
