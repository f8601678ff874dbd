/**
 * StreamSpace with Docker agents on a real Engine API (Podman's, scripts/podman-engine.ts): a
 * control plane, a relay and two replicas of one Docker agent electing a leader over Redis
 * (HA_BACKEND=redis). A viewer reaches a desktop container through the relay and the agent's
 * tunnel (the agent dials the container's loopback-published port); killing the leader hands
 * the agent to the other replica, which adopts the running containers and makes no second one.
 * How fast the takeover is, is measured in bench/docker/, not asserted here.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import Docker from "dockerode";
import WebSocket, { createWebSocketStream } from "ws";
import {
  ensureSessionObjects,
  sessionNames,
} from "../agents/src/drivers/docker/docker-session-spawn.ts";
import { makeTemplate } from "../agents/src/drivers/driver-cases.ts";
import { RfbClient } from "../agents/src/vnc/rfb-client.ts";
import { type PodmanEngine, startPodmanEngine } from "../scripts/podman-engine.ts";
import { type KubeSystem, startKubeSystem } from "./kube-system.ts";

const DEMO = "localhost/streamspace/desktop-demo:dev";
let engine: PodmanEngine;
let docker: Docker;
let sys: KubeSystem;
before(async () => {
  const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;
  assert.ok(redisUrl, "run through scripts/test.ts, which starts Redis");
  engine = await startPodmanEngine();
  docker = new Docker({ socketPath: engine.socketPath });
  sys = await startKubeSystem({
    platform: "docker",
    dockerHost: engine.dockerHost,
    redisUrl,
    replicas: 2,
  });
});
after(async () => {
  await sys?.stop();
  await engine?.stop();
});

async function withLogs<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    process.stderr.write(`--- system logs ---\n${sys.logs()}\n`);
    throw err;
  }
}

async function state(id: string): Promise<SessionState> {
  return (
    (await sys.sessions.getSession({ id }, { headers: sys.auth })).session?.state ??
    SessionState.UNSPECIFIED
  );
}

async function running(id: string): Promise<void> {
  await eventually(async () => assert.equal(await state(id), SessionState.RUNNING), {
    what: `session ${id} to run`,
    timeoutMs: WAIT.slow,
  });
}

async function containersOf(id: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: { label: [`streamspace.session-id=${id}`] },
  });
}

/** A local TCP port whose connections are bridged to a WebSocket (the browser's side of the relay). */
async function wsBridge(url: string): Promise<Server & { port: number }> {
  const server = createServer((sock) => {
    const ws = new WebSocket(url);
    const stream = createWebSocketStream(ws);
    stream.on("error", () => sock.destroy());
    sock.on("error", () => stream.destroy());
    sock.pipe(stream).pipe(sock);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return Object.assign(server, { port: typeof addr === "object" && addr ? addr.port : 0 });
}

describe("docker agents in the whole system", () => {
  test("viewer → relay → agent tunnel → the desktop container: RFB greeting and a full frame", () =>
    withLogs(async () => {
      const tpl = await sys.template({ persistentHome: true });
      const { session } = await sys.sessions.createSession(
        { template: tpl },
        { headers: sys.auth },
      );
      const id = session?.id ?? "";
      await running(id);
      const [c] = await containersOf(id);
      assert.ok(c, "the session runs as a container");
      assert.equal(c.Labels["streamspace.agent-id"], sys.agentId);
      const tok = await sys.sessions.createViewerToken({ sessionId: id }, { headers: sys.auth });
      const bridge = await wsBridge(`${sys.relayUrl.replace(/^http/, "ws")}${tok.viewerPath}`);
      try {
        using viewer = await RfbClient.connect(bridge.port, "127.0.0.1", WAIT.medium);
        assert.equal(viewer.name, "StreamSpace demo", "the demo desktop's own RFB name");
        viewer.requestUpdate(false);
        const rects = await viewer.nextUpdate(WAIT.medium);
        assert.ok(rects.reduce((a, r) => a + r.w * r.h, 0) >= viewer.width * viewer.height);
      } finally {
        bridge.close();
      }
      await sys.sessions.stopSession({ id }, { headers: sys.auth });
      await eventually(async () => assert.deepEqual(await containersOf(id), []), {
        what: "the container to be removed",
        timeoutMs: WAIT.long,
      });
    }));

  test("a template whose image is not on the host: the session fails with the reason in words", () =>
    withLogs(async () => {
      const tpl = await sys.template({ image: "localhost/streamspace/no-such-desktop:1" });
      const { session } = await sys.sessions.createSession(
        { template: tpl },
        { headers: sys.auth },
      );
      const id = session?.id ?? "";
      await eventually(
        async () => {
          const s = (await sys.sessions.getSession({ id }, { headers: sys.auth })).session;
          assert.equal(s?.state, SessionState.FAILED);
          assert.match(s?.stateReason ?? "", /no-such-desktop:1 is not on this Docker host/);
        },
        { what: "the session to fail with the image's reason", timeoutMs: WAIT.slow },
      );
      assert.deepEqual(await containersOf(id), []);
    }));

  test("the engine down: the agent stays connected, says why on /health and in its heartbeats, and the scheduler refuses with the reason; back: starts work", () =>
    withLogs(async () => {
      const leader = await eventuallyFound(() => sys.leader(), {
        what: "a leader",
        timeoutMs: WAIT.slow,
      });
      const health = async () =>
        (await (await fetch(`http://127.0.0.1:${leader.healthPort}/health`)).json()) as {
          connected: boolean;
          platformProblem?: string;
        };
      const problem = async () =>
        (await sys.agents.getAgent({ id: sys.agentId }, { headers: sys.auth })).agent
          ?.platformProblem ?? "";
      const tpl = await sys.template();
      await engine.stopService();
      try {
        await eventually(
          async () => assert.match((await health()).platformProblem ?? "", /does not answer/),
          {
            what: "the agent to report the engine down",
            timeoutMs: WAIT.long,
          },
        );
        assert.equal((await health()).connected, true, "the agent keeps its stream");
        await eventually(async () => assert.match(await problem(), /does not answer/), {
          what: "the control plane to record the agent's platform problem from its heartbeats",
          timeoutMs: WAIT.long,
        });
        await assert.rejects(
          sys.sessions.createSession({ template: tpl }, { headers: sys.auth }),
          (e: unknown) =>
            e instanceof ConnectError &&
            e.code === Code.Unavailable &&
            /report a platform problem \(the Docker engine .* does not answer/.test(e.message),
        );
      } finally {
        await engine.startService();
      }
      await eventually(async () => assert.equal((await health()).platformProblem, undefined), {
        what: "the agent to see the engine back",
        timeoutMs: WAIT.long,
      });
      await eventually(async () => assert.equal(await problem(), ""), {
        what: "the control plane to clear the platform problem",
        timeoutMs: WAIT.long,
      });
      const { session } = await sys.sessions.createSession(
        { template: tpl },
        { headers: sys.auth },
      );
      await running(session?.id ?? "");
    }));

  test("two replicas with the Redis lease: one leads; killing it hands over, sessions keep running, no duplicate container", () =>
    withLogs(async () => {
      const first = await eventuallyFound(() => sys.leader(), {
        what: "a leader",
        timeoutMs: WAIT.slow,
      });
      const tpl = await sys.template();
      const create = async () =>
        (await sys.sessions.createSession({ template: tpl }, { headers: sys.auth })).session?.id ??
        "";
      const before = await create();
      await running(before);
      // The leader dies with a start in flight: the new leader finishes it, exactly once.
      const during = await create();
      await sys.kill(first.index);
      const next = await eventuallyFound(
        async () => {
          const l = await sys.leader();
          return l && l !== first ? l : undefined;
        },
        { what: "the other replica to lead", timeoutMs: WAIT.slow },
      );
      await running(during);
      const after = await create();
      await running(after);
      for (const id of [before, during, after]) {
        const cs = await containersOf(id);
        assert.equal(cs.length, 1, `session ${id}: one container`);
        assert.equal(cs[0]?.State, "running");
      }
      assert.equal(await state(before), SessionState.RUNNING, "the earlier session kept running");
      const leading = [];
      for (const r of sys.replicas) {
        if (!r.alive) continue;
        const h = (await (await fetch(`http://127.0.0.1:${r.healthPort}/health`)).json()) as {
          leader: boolean;
        };
        if (h.leader) leading.push(r.index);
      }
      assert.deepEqual(leading, [next.index]);
    }));

  test("a restarted agent reports a container the control plane does not know, and it is removed", () =>
    withLogs(async () => {
      const leader = await eventuallyFound(() => sys.leader(), {
        what: "a leader",
        timeoutMs: WAIT.slow,
      });
      // A desktop of this agent's that no session in the database owns (a stray from a crash).
      const stray = randomUUID();
      const container = await ensureSessionObjects(
        docker,
        { sessionId: stray, ownerId: "nobody", template: makeTemplate(DEMO) },
        sys.agentId,
        sessionNames(stray, `ss-e2e-${leader.index}`),
        undefined,
      );
      await container.start();
      await sys.kill(leader.index);
      await sys.restart(leader.index);
      await eventually(async () => assert.deepEqual(await containersOf(stray), []), {
        what: "the stray container to be removed",
        timeoutMs: WAIT.slow,
      });
    }));
});
