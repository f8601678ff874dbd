/**
 * Found by the chaos suite's network partition: a pod whose Postgres sockets went silent (not
 * closed) hung. Its queries waited on TCP retransmission, the pool handed the stuck clients
 * back, and the pod stayed not ready long after the network healed, until the kernel gave up on
 * the dead sockets. Now every query has a deadline, a client whose query got no answer is
 * closed instead of reused, and the pod is ready again as soon as Postgres can be reached.
 *
 * The partition here is a TCP proxy between the pod and Postgres that stops forwarding without
 * closing anything; connections it silenced stay silent for good after the heal, as sockets
 * whose retransmissions backed off would, while new connections go through again.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { eventually, WAIT } from "@streamspace/common/testing";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { createFreshDatabase } from "../store/test-database.ts";
import { startTestControlPlane } from "../testing/test-control-plane.ts";

interface SilentProxy {
  url: string;
  /** Stops forwarding on every connection, open or new, closing none. */
  silence(): void;
  /** New connections forward again; the silenced ones stay silent. */
  heal(): void;
  close(): Promise<void>;
}

async function startSilentProxy(databaseUrl: string): Promise<SilentProxy> {
  const target = new URL(databaseUrl);
  let silent = false;
  const open = new Set<{ muted: boolean; sockets: Socket[] }>();
  const server: Server = createServer((inbound) => {
    const conn = { muted: silent, sockets: [inbound] };
    open.add(conn);
    const drop = () => {
      for (const s of conn.sockets) s.destroy();
      open.delete(conn);
    };
    inbound.on("error", drop).on("close", drop);
    if (conn.muted) return; // accepted, never answered: a SYN lost in the partition
    const out = connect(Number(target.port), target.hostname);
    conn.sockets.push(out);
    out.on("error", drop).on("close", drop);
    inbound.on("data", (d) => conn.muted || out.write(d));
    out.on("data", (d) => conn.muted || inbound.write(d));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    silence() {
      silent = true;
      for (const c of open) c.muted = true;
    },
    heal() {
      silent = false;
    },
    async close() {
      for (const c of open) for (const s of c.sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Resolves with what `p` settled to, or "hung" after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | "hung"> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((r) => {
    timer = setTimeout(() => r("hung"), ms);
  });
  return Promise.race([p, hung]).finally(() => clearTimeout(timer));
}

describe("a pod whose Postgres connections go silent", () => {
  test("fails queries within the deadline, says not ready, and recovers after the heal", async () => {
    await using fresh = await createFreshDatabase();
    const proxy = await startSilentProxy(fresh.url);
    const t = await startTestControlPlane({
      databaseUrl: proxy.url,
      env: { DB_QUERY_TIMEOUT: "1s" },
    }).catch(async (err: unknown) => {
      await proxy.close();
      throw err;
    });
    try {
      const token = await t.adminToken();
      const templates = createClient(TemplateService, createGrpcTransport({ baseUrl: t.url }));
      const call = { headers: { authorization: `Bearer ${token}` }, timeoutMs: WAIT.slow };
      const list = () => templates.listTemplates({ pageSize: 10 }, call);
      assert.equal((await list()).templates.length > 0, true);
      assert.equal((await fetch(`${t.url}/ready`)).status, 200);

      proxy.silence();
      // The hang guard is far beyond the deadline (1 s on the server, 3 s in the client, 10 s to
      // connect): a query that still waits at WAIT.long is waiting on TCP, not on a deadline.
      const outcome = await within(
        list().then(
          () => "answered",
          (err: unknown) => ConnectError.from(err),
        ),
        WAIT.long,
      );
      assert.notEqual(outcome, "hung", "a query on a silent connection never failed");
      assert.ok(outcome instanceof ConnectError, `expected an error, got ${String(outcome)}`);
      assert.equal(outcome.code, Code.Unavailable, outcome.message);
      await eventually(
        async () => {
          const res = await fetch(`${t.url}/ready`);
          const body = (await res.json()) as { checks: { database: { ok: boolean } } };
          assert.equal(res.status, 503);
          assert.equal(body.checks.database.ok, false);
        },
        { timeoutMs: WAIT.long, what: "/ready to say not ready while Postgres is silent" },
      );

      proxy.heal();
      await eventually(
        async () => {
          assert.equal((await fetch(`${t.url}/ready`)).status, 200);
          assert.equal((await list()).templates.length > 0, true);
        },
        { timeoutMs: WAIT.slow, what: "the pod to serve again once Postgres is reachable" },
      );
    } finally {
      // The proxy first: closing its sockets ends any query still waiting on one, so the pod
      // can close even when the deadline this test is about is missing (its queries then fail
      // as the sockets close, which must not hide this test's own failure).
      await proxy.close();
      await t.close().catch(() => {});
    }
  });
});
