/**
 * The behaviour every driver must show, as one suite run against each implementation (the
 * local driver with Xvfb+x11vnc, with the built-in server, and later Docker and Kubernetes).
 * A driver passes when a real RFB viewer can use its sessions through start, hibernate, wake
 * and stop, when its operations are idempotent, because commands arrive at least once, and
 * when a stop with the system leaves every session reported as stopped rather than lost.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { type Template, TemplateSchema } from "@streamspace/proto/streamspace/v1/types_pb";
import { type Driver, DriverError, type DriverSession } from "../runtime/driver.ts";
import { RfbClient } from "../vnc/rfb-client.ts";

/** What a driver suite needs from the implementation under test. */
export interface DriverFixture {
  driver: Driver;
  /** A template this driver can start. */
  template: Template;
  /** Makes a session die behind the driver's back (kill its processes, delete its pod). */
  crash(sessionId: string): Promise<void>;
  /** Tears everything down, including sessions a failed test left behind. */
  cleanup(): Promise<void>;
  /**
   * Waits until a running session's VNC server accepts connections, where the platform's own
   * readiness is faked (KWOK marks pods Ready without a readiness probe). Others omit it.
   */
  reachable?(s: DriverSession): Promise<void>;
  /**
   * Hibernation ends the desktop's process instead of freezing it (Kubernetes scales to 0), so
   * a viewer is disconnected rather than stalled and wake serves at a new endpoint.
   */
  hibernateEndsViewers?: boolean;
}

/** Builds a template with the given image/command, for fixtures. */
export function makeTemplate(image: string, command: string[] = []): Template {
  return create(TemplateSchema, {
    id: `tpl-${image}`,
    name: image.replace(/[^a-z0-9-]/gi, "-"),
    image,
    command,
  });
}

const signal = () => AbortSignal.timeout(WAIT.long);
const newId = () => `s-${randomUUID().slice(0, 8)}`;

const endpointKey = (s: DriverSession) => `${s.endpoint?.host}:${s.endpoint?.port}`;

async function viewFullScreen(fx: DriverFixture, s: DriverSession): Promise<RfbClient> {
  assert.ok(s.endpoint, "a running session has a VNC endpoint");
  await fx.reachable?.(s);
  const client = await RfbClient.connect(s.endpoint.port, s.endpoint.host);
  client.requestUpdate(false);
  const rects = await client.nextUpdate(WAIT.medium);
  const area = rects.reduce((a, r) => a + r.w * r.h, 0);
  assert.ok(area >= client.width * client.height, "the first full update covers the screen");
  return client;
}

/** Registers the shared driver cases under `name`; `make` builds a fresh fixture. */
export function runDriverCases(name: string, make: () => Promise<DriverFixture>): void {
  describe(`driver cases: ${name}`, () => {
    let fx: DriverFixture;
    before(async () => {
      fx = await make();
    });
    after(async () => {
      await fx.cleanup();
    });

    test("start serves RFB; a second start of the same id is the same session", async () => {
      const owner = "u1";
      const id = newId();
      const s = await fx.driver.start(
        { sessionId: id, ownerId: owner, template: fx.template },
        signal(),
      );
      assert.equal(s.state, "running");
      assert.deepEqual(fx.driver.endpoint(id), s.endpoint);
      using client = await viewFullScreen(fx, s);
      assert.ok(client.width > 0 && client.height > 0);
      const again = await fx.driver.start(
        { sessionId: id, ownerId: owner, template: fx.template },
        signal(),
      );
      assert.deepEqual(again.endpoint, s.endpoint);
      assert.ok((await fx.driver.list()).some((x) => x.sessionId === id && x.state === "running"));
      await fx.driver.stop(id, signal());
    });

    test("hibernate stalls the viewer, wake resumes it", async () => {
      const id = newId();
      const s = await fx.driver.start(
        { sessionId: id, ownerId: "u1", template: fx.template },
        signal(),
      );
      using client = await viewFullScreen(fx, s);
      assert.equal((await fx.driver.hibernate(id, signal())).state, "hibernated");
      assert.equal(
        (await fx.driver.hibernate(id, signal())).state,
        "hibernated",
        "hibernate is idempotent",
      );
      assert.ok(
        (await fx.driver.list()).some((x) => x.sessionId === id && x.state === "hibernated"),
      );
      client.requestUpdate(false);
      await assert.rejects(
        client.nextUpdate(500),
        // A frozen desktop answers nothing; an ended one closes the connection.
        (e: Error) => fx.hibernateEndsViewers === true || /no framebuffer update/.test(e.message),
        "a hibernated desktop sends no update",
      );
      const woken = await fx.driver.wake(id, signal());
      assert.equal(woken.state, "running");
      if (fx.hibernateEndsViewers) (await viewFullScreen(fx, woken)).close();
      else await client.nextUpdate(WAIT.medium);
      assert.equal((await fx.driver.wake(id, signal())).state, "running", "wake is idempotent");
      await fx.driver.stop(id, signal());
    });

    test("stop ends the session; stopping again is fine", async () => {
      const id = newId();
      const s = await fx.driver.start(
        { sessionId: id, ownerId: "u1", template: fx.template },
        signal(),
      );
      assert.equal((await fx.driver.stop(id, signal())).state, "stopped");
      assert.equal(fx.driver.endpoint(id), undefined);
      assert.ok(!(await fx.driver.list()).some((x) => x.sessionId === id));
      await assert.rejects(
        RfbClient.connect(s.endpoint?.port ?? 1, s.endpoint?.host ?? "127.0.0.1", 2000),
      );
      assert.equal((await fx.driver.stop(id, signal())).state, "stopped");
    });

    test("concurrent starts get distinct working endpoints", async () => {
      const ids = [newId(), newId(), newId()];
      const started = await Promise.all(
        ids.map((sessionId) =>
          fx.driver.start({ sessionId, ownerId: "u2", template: fx.template }, signal()),
        ),
      );
      const endpoints = new Set(started.map(endpointKey));
      assert.equal(endpoints.size, 3);
      for (const s of started) (await viewFullScreen(fx, s)).close();
      await Promise.all(ids.map((id) => fx.driver.stop(id, signal())));
    });

    test("a session that dies on its own is reported as an event", async () => {
      const id = newId();
      const seen: DriverSession[] = [];
      const off = fx.driver.onEvent((e) => seen.push(e));
      try {
        await fx.driver.start({ sessionId: id, ownerId: "u1", template: fx.template }, signal());
        await fx.crash(id);
        const ev = await eventuallyFound(() => seen.find((e) => e.sessionId === id), {
          what: "exit event",
        });
        assert.ok(ev.state === "stopped" || ev.state === "failed");
        assert.ok(ev.reason);
        assert.equal(fx.driver.endpoint(id), undefined);
      } finally {
        off();
      }
    });

    test("stopAll ends every session as stopped with the reason, kept as ended until forgotten", async () => {
      const reason = "stopped with the system";
      const ids = [newId(), newId()];
      const started = await Promise.all(
        ids.map((sessionId) =>
          fx.driver.start({ sessionId, ownerId: "u3", template: fx.template }, signal()),
        ),
      );
      const stopped = await fx.driver.stopAll(reason, signal());
      for (const id of ids) {
        assert.deepEqual(
          stopped.find((s) => s.sessionId === id),
          { sessionId: id, state: "stopped", reason },
        );
        assert.equal(fx.driver.endpoint(id), undefined);
      }
      assert.deepEqual(await fx.driver.list(), [], "nothing runs after stopAll");
      for (const s of started)
        await assert.rejects(
          RfbClient.connect(s.endpoint?.port ?? 1, s.endpoint?.host ?? "127.0.0.1", 2000),
        );
      const ended = await fx.driver.ended();
      for (const id of ids) {
        assert.deepEqual(
          ended.find((s) => s.sessionId === id),
          { sessionId: id, state: "stopped", reason },
        );
      }
      // A stop command for an ended session answers stopped and needs the record no more.
      const [first, second] = ids as [string, string];
      assert.equal((await fx.driver.stop(first, signal())).state, "stopped");
      await fx.driver.forgetEnded([second]);
      const left = (await fx.driver.ended()).map((s) => s.sessionId);
      assert.ok(!left.includes(first) && !left.includes(second), left.join(","));
    });

    test("bad input gets a DriverError with a code", async () => {
      await assert.rejects(
        fx.driver.hibernate(newId(), signal()),
        (e) => e instanceof DriverError && e.code === "not_found",
      );
      await assert.rejects(
        fx.driver.wake(newId(), signal()),
        (e) => e instanceof DriverError && e.code === "not_found",
      );
      await assert.rejects(
        fx.driver.start(
          { sessionId: "../etc/passwd", ownerId: "u1", template: fx.template },
          signal(),
        ),
        (e) => e instanceof DriverError && e.code === "invalid_argument",
      );
    });
  });
}
