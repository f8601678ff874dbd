/**
 * A Kubernetes agent in the whole system, on the test bed: a session started through the API
 * runs as a pod, and a viewer reaches the VNC server on the pod's own 127.77.x.x address
 * through the relay and the agent's tunnel; an agent killed in the middle of a start leaves
 * exactly one Deployment and the session still runs; on restart the control plane's
 * reconciliation removes objects it does not know and fails sessions whose objects vanished.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { SessionState, TemplateSchema } from "@streamspace/proto/streamspace/v1/types_pb";
import WebSocket, { createWebSocketStream } from "ws";
import {
  deploymentFor,
  objectName,
} from "../agents/src/drivers/kubernetes/kubernetes-session-spawn.ts";
import {
  type PodVncServers,
  servePodVnc,
} from "../agents/src/drivers/kubernetes/pod-vnc-test-kit.ts";
import { RfbClient } from "../agents/src/vnc/rfb-client.ts";
import { type K8sTestbed, startK8sTestbed } from "../scripts/k8s-testbed/testbed.ts";
import { apiCall, apiMust } from "../scripts/k8s-testbed/testbed-api.ts";
import { type KubeSystem, startKubeSystem } from "./kube-system.ts";

let bed: K8sTestbed;
let ns: string;
let vnc: PodVncServers;
let sys: KubeSystem;
before(async () => {
  bed = await startK8sTestbed();
  ns = await bed.namespace("e2e");
  vnc = await servePodVnc({ kubeconfig: bed.kubeconfig, namespace: ns });
  sys = await startKubeSystem({ kubeconfig: bed.kubeconfig, namespace: ns });
});
after(async () => {
  await sys?.stop();
  await vnc?.close();
  await bed?.stop();
});

async function withLogs<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    process.stderr.write(`--- system logs ---\n${sys.logs()}\n`);
    throw err;
  }
}

async function state(id: string): Promise<{ state: SessionState; reason: string }> {
  const s = (await sys.sessions.getSession({ id }, { headers: sys.auth })).session;
  return { state: s?.state ?? SessionState.UNSPECIFIED, reason: s?.stateReason ?? "" };
}

async function running(id: string): Promise<void> {
  await eventually(async () => assert.equal((await state(id)).state, SessionState.RUNNING), {
    what: `session ${id} to run`,
    timeoutMs: WAIT.slow,
  });
}

const apps = () => `/apis/apps/v1/namespaces/${ns}/deployments`;
async function deploymentsOf(id: string): Promise<{ metadata: { name: string } }[]> {
  const l = (await apiMust(
    bed.admin,
    "GET",
    `${apps()}?labelSelector=streamspace.io/session-id=${id}`,
  )) as {
    items: { metadata: { name: string } }[];
  };
  return l.items;
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

describe("kubernetes agent in the whole system", () => {
  test("viewer → relay → agent → the VNC server on the pod's own address", () =>
    withLogs(async () => {
      const tpl = await sys.template({ persistentHome: true });
      const { session } = await sys.sessions.createSession(
        { template: tpl },
        { headers: sys.auth },
      );
      const id = session?.id ?? "";
      await running(id);
      const pods = (await apiMust(
        bed.admin,
        "GET",
        `/api/v1/namespaces/${ns}/pods?labelSelector=streamspace.io/session-id=${id}`,
      )) as { items: { metadata: { name: string }; status: { podIP: string } }[] };
      const pod = pods.items[0];
      assert.ok(pod, "the session runs as a pod");
      assert.match(pod.status.podIP, /^127\.77\./);
      await vnc.serving({ host: pod.status.podIP, port: 5900 });
      const tok = await sys.sessions.createViewerToken({ sessionId: id }, { headers: sys.auth });
      const bridge = await wsBridge(`${sys.relayUrl.replace(/^http/, "ws")}${tok.viewerPath}`);
      try {
        using viewer = await RfbClient.connect(bridge.port, "127.0.0.1", WAIT.medium);
        assert.equal(viewer.name, pod.metadata.name, "the desktop served on that pod's address");
        viewer.requestUpdate(false);
        const rects = await viewer.nextUpdate(WAIT.medium);
        assert.ok(rects.reduce((a, r) => a + r.w * r.h, 0) >= viewer.width * viewer.height);
      } finally {
        bridge.close();
      }
      await sys.sessions.stopSession({ id }, { headers: sys.auth });
      await eventually(async () => assert.deepEqual(await deploymentsOf(id), []), {
        what: "the Deployment to be deleted",
        timeoutMs: WAIT.long,
      });
    }));

  test("an agent killed in the middle of a start leaves exactly one Deployment, and the session runs", () =>
    withLogs(async () => {
      const tpl = await sys.template({ image: "streamspace.test/slow:1" });
      const { session } = await sys.sessions.createSession(
        { template: tpl },
        { headers: sys.auth },
      );
      const id = session?.id ?? "";
      await eventuallyFound(async () => (await deploymentsOf(id)).length > 0, {
        what: "the agent to create the Deployment",
        timeoutMs: WAIT.long,
      });
      assert.notEqual((await state(id)).state, SessionState.RUNNING, "still starting (slow image)");
      await sys.kill(0);
      await sys.restart(0);
      await running(id);
      assert.equal((await deploymentsOf(id)).length, 1);
    }));

  test("on restart, objects the control plane does not know are removed and vanished sessions fail with a reason", () =>
    withLogs(async () => {
      const tpl = await sys.template();
      const { session } = await sys.sessions.createSession(
        { template: tpl },
        { headers: sys.auth },
      );
      const id = session?.id ?? "";
      await running(id);
      await sys.kill(0);
      // While the agent is away: its session's Deployment goes, and a stray one appears.
      await apiMust(bed.admin, "DELETE", `${apps()}/${objectName(id)}`);
      const stray = randomUUID();
      await apiMust(
        bed.admin,
        "POST",
        apps(),
        deploymentFor(
          {
            sessionId: stray,
            ownerId: "nobody",
            template: create(TemplateSchema, { image: "streamspace.test/desktop:1" }),
          },
          sys.agentId,
        ),
      );
      await sys.restart(0);
      await eventually(
        async () => {
          const s = await state(id);
          assert.equal(s.state, SessionState.FAILED);
          assert.match(s.reason, /lost/);
        },
        { what: "the vanished session to fail", timeoutMs: WAIT.slow },
      );
      await eventually(
        async () =>
          assert.equal(
            (await apiCall(bed.admin, "GET", `${apps()}/${objectName(stray)}`)).status,
            404,
          ),
        { what: "the stray Deployment to be removed", timeoutMs: WAIT.slow },
      );
    }));
});
