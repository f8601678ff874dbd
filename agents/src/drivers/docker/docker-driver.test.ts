/**
 * The Docker driver on a real Engine API: Podman's Docker-compatible service, started for this
 * file by scripts/podman-engine.ts, running the desktop images deploy/images builds. Nothing
 * here connects to a container's network address: desktops are reached on the loopback ports
 * the Engine publishes, as the agent reaches them.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { silentLogger } from "@streamspace/common/log";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import {
  ResourcesSchema,
  type Template,
  TemplateSchema,
} from "@streamspace/proto/streamspace/v1/types_pb";
import Docker from "dockerode";
import { type PodmanEngine, startPodmanEngine } from "../../../../scripts/podman-engine.ts";
import { DriverError, type DriverSession } from "../../runtime/driver.ts";
import { RfbClient } from "../../vnc/rfb-client.ts";
import { type DriverFixture, makeTemplate, runDriverCases } from "../driver-cases.ts";
import { DockerDriver, ENDED_WHILE_AWAY, REMOVED_OUTSIDE } from "./docker-driver.ts";
import { ensureSessionObjects, HOME_MOUNT, LABEL, SHM_BYTES } from "./docker-session-spawn.ts";

const DEMO = "localhost/streamspace/desktop-demo:dev";
const XTERM = "localhost/streamspace/desktop-xterm:dev";
const signal = () => AbortSignal.timeout(WAIT.long);
const newId = () => `s-${randomUUID().slice(0, 8)}`;

let engine: PodmanEngine;
let docker: Docker;
before(async () => {
  engine = await startPodmanEngine();
  docker = new Docker({ socketPath: engine.socketPath });
  for (const image of [DEMO, XTERM])
    await docker
      .getImage(image)
      .inspect()
      .catch(() => {
        throw new Error(`${image} is not built: run bash deploy/images/build.sh`);
      });
});
after(async () => {
  await engine?.stop();
});

async function openDriver(dir: string, agentId: string, dockerHost = engine.dockerHost) {
  return DockerDriver.open({
    dockerHost,
    networkPrefix: "ss-test",
    agentId,
    dataDir: dir,
    log: silentLogger,
    stopGraceS: 1,
  });
}

async function dockerFixture(
  template: Template,
): Promise<DriverFixture & { driver: DockerDriver; dir: string; agentId: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ss-agent-docker-"));
  const agentId = `agent-${randomUUID().slice(0, 8)}`;
  const driver = await openDriver(dir, agentId);
  return {
    dir,
    agentId,
    driver,
    template,
    hibernateEndsViewers: true,
    async crash(id) {
      await engine.podman(["kill", driver.names(id).container]);
    },
    async cleanup() {
      for (const s of await driver.list())
        await driver.stop(s.sessionId, AbortSignal.timeout(WAIT.medium));
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function template(over: {
  image?: string;
  command?: string[];
  env?: Record<string, string>;
  persistentHome?: boolean;
  memory?: bigint;
  cpu?: bigint;
}): Template {
  const { memory, cpu, ...rest } = over;
  return create(TemplateSchema, {
    id: `tpl-${randomUUID().slice(0, 6)}`,
    name: "docker-test",
    image: DEMO,
    resources: create(ResourcesSchema, { memoryBytes: memory ?? 0n, cpuMillis: cpu ?? 0n }),
    ...rest,
  });
}

async function execIn(container: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const exec = await docker
    .getContainer(container)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  let out = "";
  stream.on("data", (b: Buffer) => {
    out += b.toString("latin1");
  });
  await new Promise((r) => stream.once("end", r));
  return { code: (await exec.inspect()).ExitCode ?? -1, out };
}

const exists = (p: Promise<unknown>) =>
  p.then(
    () => true,
    (err) => {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw err;
    },
  );

runDriverCases("docker (Podman's Docker API, desktop-demo image)", () =>
  dockerFixture(makeTemplate(DEMO)),
);

describe("docker driver specifics", () => {
  test("a session is a labelled container on its own network, published on loopback only, with the template's resources; stop removes all of it", async () => {
    const fx = await dockerFixture(template({}));
    try {
      const id = newId();
      const t = template({
        persistentHome: true,
        memory: 256n << 20n,
        cpu: 500n,
        env: { SS_TITLE: "docker test" },
      });
      const s = await fx.driver.start({ sessionId: id, ownerId: "owner-1", template: t }, signal());
      assert.equal(s.state, "running");
      assert.equal(s.endpoint?.host, "127.0.0.1");
      const names = fx.driver.names(id);
      const info = await docker.getContainer(names.container).inspect();
      assert.equal(info.Config.Labels[LABEL.session], id);
      assert.equal(info.Config.Labels[LABEL.agent], fx.agentId);
      assert.equal(info.Config.Labels[LABEL.owner], "owner-1");
      assert.ok(info.Config.Env.includes("SS_TITLE=docker test"));
      assert.ok(info.Config.Env.includes(`HOME=${HOME_MOUNT}`));
      assert.ok(
        info.Config.Healthcheck?.Test?.includes("--check"),
        "the image's health check on the VNC port is the container's",
      );
      assert.equal(info.HostConfig.Memory, 256 * 1024 * 1024);
      assert.equal(info.HostConfig.NanoCpus, 500_000_000);
      assert.equal(info.HostConfig.ShmSize, SHM_BYTES);
      assert.deepEqual(Object.keys(info.NetworkSettings.Networks), [names.network]);
      const bindings = info.NetworkSettings.Ports["5900/tcp"] ?? [];
      assert.deepEqual(
        bindings.map((b) => b.HostIp),
        ["127.0.0.1"],
        "the VNC port is published on loopback only",
      );
      assert.equal(Number(bindings[0]?.HostPort), s.endpoint?.port);
      const net = await docker.getNetwork(names.network).inspect();
      assert.equal(net.Labels?.[LABEL.session], id);
      assert.ok(await exists(docker.getVolume(names.volume).inspect()), "the home volume");
      using viewer = await RfbClient.connect(s.endpoint?.port ?? 0, "127.0.0.1", WAIT.medium);
      assert.ok(viewer.width > 0);
      await fx.driver.stop(id, signal());
      assert.equal(await exists(docker.getContainer(names.container).inspect()), false);
      assert.equal(await exists(docker.getNetwork(names.network).inspect()), false);
      assert.equal(await exists(docker.getVolume(names.volume).inspect()), false);
    } finally {
      await fx.cleanup();
    }
  });

  test("KEEP_HOME_VOLUMES: stop leaves the home volume for an operator; a new start of the id reuses it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ss-agent-docker-"));
    const d = await DockerDriver.open({
      dockerHost: engine.dockerHost,
      networkPrefix: "ss-keep",
      agentId: `agent-${randomUUID().slice(0, 8)}`,
      dataDir: dir,
      log: silentLogger,
      keepHomeVolumes: true,
      stopGraceS: 1,
    });
    try {
      const id = newId();
      const t = template({ persistentHome: true });
      await d.start({ sessionId: id, ownerId: "u", template: t }, signal());
      await d.stop(id, signal());
      const names = d.names(id);
      assert.equal(await exists(docker.getContainer(names.container).inspect()), false);
      assert.equal(await exists(docker.getNetwork(names.network).inspect()), false);
      assert.ok(await exists(docker.getVolume(names.volume).inspect()), "the home volume stays");
      assert.equal(
        (await d.start({ sessionId: id, ownerId: "u", template: t }, signal())).state,
        "running",
      );
      await d.stop(id, signal());
      await docker.getVolume(names.volume).remove();
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("hibernate stops the container and keeps the home; wake starts it with the file still there", async () => {
    const fx = await dockerFixture(template({}));
    try {
      const id = newId();
      const t = template({ image: XTERM, persistentHome: true });
      await fx.driver.start({ sessionId: id, ownerId: "u", template: t }, signal());
      const { container } = fx.driver.names(id);
      const wrote = await execIn(container, [
        "/bin/sh",
        "-c",
        `echo kept-across-hibernation > ${HOME_MOUNT}/note.txt`,
      ]);
      assert.equal(wrote.code, 0, wrote.out);
      assert.equal((await fx.driver.hibernate(id, signal())).state, "hibernated");
      const frozen = await docker.getContainer(container).inspect();
      assert.equal(frozen.State.Running, false, "a hibernated session's container is stopped");
      assert.equal(fx.driver.endpoint(id), undefined);
      const woken = await fx.driver.wake(id, signal());
      assert.equal(woken.state, "running");
      using viewer = await RfbClient.connect(woken.endpoint?.port ?? 0, "127.0.0.1", WAIT.medium);
      assert.ok(viewer.width > 0);
      const read = await execIn(container, ["/bin/cat", `${HOME_MOUNT}/note.txt`]);
      assert.match(read.out, /kept-across-hibernation/);
      await fx.driver.stop(id, signal());
    } finally {
      await fx.cleanup();
    }
  });

  test("a desktop killed for memory is reported failed with the reason", async () => {
    const fx = await dockerFixture(template({}));
    const seen: DriverSession[] = [];
    const off = fx.driver.onEvent((e) => seen.push(e));
    try {
      const id = newId();
      // The program grows a string until the 64 MiB limit: the kernel kills it, tini exits 137.
      const t = template({
        image: XTERM,
        memory: 64n << 20n,
        command: ["/bin/bash", "-c", "sleep 1; x=a; while :; do x=$x$x; done"],
      });
      await fx.driver.start({ sessionId: id, ownerId: "u", template: t }, signal());
      const ev = await eventuallyFound(() => seen.find((e) => e.sessionId === id), {
        what: "the OOM event",
        timeoutMs: WAIT.long,
      });
      assert.equal(ev.state, "failed");
      assert.match(ev.reason ?? "", /memory/);
      assert.match(ev.reason ?? "", /64 MiB/);
      assert.equal(fx.driver.endpoint(id), undefined);
      assert.ok(!(await fx.driver.list()).some((s) => s.sessionId === id));
    } finally {
      off();
      await fx.cleanup();
    }
  });

  test("a missing image refuses the start in words and leaves nothing behind", async () => {
    const fx = await dockerFixture(template({}));
    try {
      const id = newId();
      const t = template({ image: "localhost/streamspace/no-such-desktop:1" });
      await assert.rejects(
        fx.driver.start({ sessionId: id, ownerId: "u", template: t }, signal()),
        (e) =>
          e instanceof DriverError &&
          e.code === "invalid_argument" &&
          /no-such-desktop:1 is not on this Docker host/.test(e.message) &&
          /build or load it/.test(e.message),
      );
      assert.equal(await exists(docker.getNetwork(fx.driver.names(id).network).inspect()), false);
      assert.deepEqual(await fx.driver.list(), []);
    } finally {
      await fx.cleanup();
    }
  });

  test("engine down: starts are refused with the reason; back: the driver reconciles what changed meanwhile", async () => {
    const fx = await dockerFixture(template({}));
    const seen: DriverSession[] = [];
    const off = fx.driver.onEvent((e) => seen.push(e));
    let serviceUp = true;
    try {
      const [keep, lose] = [newId(), newId()];
      const kept = await fx.driver.start(
        { sessionId: keep, ownerId: "u", template: fx.template },
        signal(),
      );
      await fx.driver.start({ sessionId: lose, ownerId: "u", template: fx.template }, signal());
      await engine.stopService();
      serviceUp = false;
      const problem = await eventuallyFound(() => fx.driver.platformProblem(), {
        what: "the driver to notice the engine is down",
      });
      assert.match(problem, /does not answer/);
      await assert.rejects(
        fx.driver.start({ sessionId: newId(), ownerId: "u", template: fx.template }, signal()),
        (e) =>
          e instanceof DriverError && e.code === "unavailable" && /does not answer/.test(e.message),
      );
      // While nobody serves the API, one desktop dies (the CLI works on the storage directly).
      await engine.podman(["kill", fx.driver.names(lose).container]);
      await engine.startService();
      serviceUp = true;
      await eventually(() => assert.equal(fx.driver.platformProblem(), undefined), {
        what: "the driver to see the engine back",
        timeoutMs: WAIT.long,
      });
      const ev = await eventuallyFound(() => seen.find((e) => e.sessionId === lose), {
        what: "the session that died while the engine was down",
        timeoutMs: WAIT.long,
      });
      assert.equal(ev.state, "failed");
      assert.deepEqual(
        (await fx.driver.list()).map((s) => s.sessionId),
        [keep],
        "the other session still runs",
      );
      using viewer = await RfbClient.connect(kept.endpoint?.port ?? 0, "127.0.0.1", WAIT.medium);
      assert.ok(viewer.width > 0);
      const again = await fx.driver.start(
        { sessionId: newId(), ownerId: "u", template: fx.template },
        signal(),
      );
      assert.equal(again.state, "running");
    } finally {
      off();
      if (!serviceUp) await engine.startService();
      await fx.cleanup();
    }
  });

  test("a new driver for the same agent adopts running and hibernated sessions and reports one that ended unseen", async () => {
    const fx = await dockerFixture(template({}));
    let second: DockerDriver | undefined;
    try {
      const [run, frozen, dies, removed] = [newId(), newId(), newId(), newId()];
      for (const sessionId of [run, frozen, dies, removed])
        await fx.driver.start({ sessionId, ownerId: "u", template: fx.template }, signal());
      await fx.driver.hibernate(frozen, signal());
      await fx.driver.hibernate(removed, signal());
      const endpoint = fx.driver.endpoint(run);
      await fx.driver.close();
      await engine.podman(["kill", fx.driver.names(dies).container]);
      await engine.podman(["rm", fx.driver.names(removed).container]);
      second = await openDriver(fx.dir, fx.agentId);
      const listed = new Map((await second.list()).map((s) => [s.sessionId, s]));
      assert.equal(listed.get(run)?.state, "running");
      assert.deepEqual(listed.get(run)?.endpoint, endpoint);
      assert.equal(listed.get(frozen)?.state, "hibernated");
      assert.equal(listed.has(dies), false);
      const ended = (await second.ended()).find((s) => s.sessionId === dies);
      assert.ok(ended?.reason?.startsWith(ENDED_WHILE_AWAY), ended?.reason);
      assert.equal(listed.has(removed), false);
      assert.deepEqual(
        (await second.ended()).find((s) => s.sessionId === removed),
        { sessionId: removed, state: "stopped", reason: REMOVED_OUTSIDE },
        "a hibernated session whose container went is reported ended, not lost",
      );
      assert.equal(
        await exists(docker.getContainer(second.names(dies).container).inspect()),
        false,
        "the ended session's container is removed",
      );
      assert.equal((await second.wake(frozen, signal())).state, "running");
      for (const id of [run, frozen]) await second.stop(id, signal());
      await second.forgetEnded([dies, removed]);
      assert.deepEqual(await second.ended(), []);
    } finally {
      await second?.close();
      rmSync(fx.dir, { recursive: true, force: true });
    }
  });

  test("a container created but never started (a leader died mid-start) is left for the redelivered start, which finishes it", async () => {
    const fx = await dockerFixture(template({}));
    let second: DockerDriver | undefined;
    try {
      const id = newId();
      const spec = { sessionId: id, ownerId: "u", template: template({ persistentHome: true }) };
      // What the dead leader got done: the objects exist, the container never ran.
      await ensureSessionObjects(docker, spec, fx.agentId, fx.driver.names(id), undefined);
      await fx.driver.close();
      second = await openDriver(fx.dir, fx.agentId);
      assert.deepEqual(await second.list(), [], "not reported as running");
      assert.deepEqual(await second.ended(), [], "not reported as ended");
      const s = await second.start(spec, signal());
      assert.equal(s.state, "running");
      const cs = await docker.listContainers({
        all: true,
        filters: { label: [`${LABEL.session}=${id}`] },
      });
      assert.equal(cs.length, 1, "the start used the container it found");
      using viewer = await RfbClient.connect(s.endpoint?.port ?? 0, "127.0.0.1", WAIT.medium);
      assert.ok(viewer.width > 0);
      await second.stop(id, signal());
    } finally {
      await second?.close();
      rmSync(fx.dir, { recursive: true, force: true });
    }
  });

  test("a socket that does not exist: the driver opens, reports the engine down and refuses starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ss-agent-docker-"));
    const d = await openDriver(dir, "agent-nosock", `unix://${join(dir, "missing.sock")}`);
    try {
      assert.match(d.platformProblem() ?? "", /missing\.sock does not answer \(ENOENT\)/);
      await assert.rejects(
        d.start({ sessionId: newId(), ownerId: "u", template: makeTemplate(DEMO) }, signal()),
        (e) => e instanceof DriverError && e.code === "unavailable",
      );
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
