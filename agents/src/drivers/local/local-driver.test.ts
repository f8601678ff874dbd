import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { silentLogger } from "@streamspace/common/log";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { TemplateSchema } from "@streamspace/proto/streamspace/v1/types_pb";
import { DriverError } from "../../runtime/driver.ts";
import { RfbClient } from "../../vnc/rfb-client.ts";
import { type DriverFixture, makeTemplate, runDriverCases } from "../driver-cases.ts";
import {
  BUILTIN_IMAGE,
  ENDED_WHILE_AWAY,
  hasX11Stack,
  LocalDriver,
  which,
} from "./local-driver.ts";
import { groupMembers, isLive, liveGroups, signalGroup } from "./process-group.ts";

async function localFixture(
  image: string,
  command: string[] = [],
  env: Record<string, string> = {},
): Promise<DriverFixture & { dir: string; driver: LocalDriver }> {
  const dir = mkdtempSync(join(tmpdir(), "ss-agent-local-"));
  const driver = await LocalDriver.open({
    dataDir: dir,
    log: silentLogger,
    pollMs: 100,
    geometry: "640x480",
  });
  return {
    dir,
    driver,
    template: Object.assign(makeTemplate(image, command), { env }),
    async crash(id) {
      const pgid = driver.processGroup(id);
      assert.ok(pgid);
      signalGroup(pgid, "SIGKILL");
    },
    async cleanup() {
      for (const s of await driver.list())
        await driver.stop(s.sessionId, AbortSignal.timeout(WAIT.medium));
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The Debian VNC stack must be present: CI installs it (scripts/install-system-deps.sh).
test("Xtigervnc, Xvfb, x11vnc and xterm are installed", () => {
  assert.ok(hasX11Stack(), "install them: apt-get install -y xvfb x11vnc xterm");
  assert.ok(which("Xtigervnc"), "install it: apt-get install -y tigervnc-standalone-server");
});

// Both X backends x11-session.sh can pick pass the same behaviour suite.
runDriverCases("local (Xtigervnc + xterm)", () =>
  localFixture("xterm", [], { SS_VNC_SERVER: "xvnc" }),
);
runDriverCases("local (Xvfb + x11vnc + xterm)", () =>
  localFixture("xterm", [], { SS_VNC_SERVER: "x11vnc" }),
);
runDriverCases("local (built-in VNC server)", () => localFixture(BUILTIN_IMAGE));

describe("local driver specifics", () => {
  for (const image of ["xterm", BUILTIN_IMAGE]) {
    test(`${image}: hibernate puts every process in state T; stop leaves no orphan`, async () => {
      const fx = await localFixture(image);
      try {
        await fx.driver.start(
          { sessionId: "orphans", ownerId: "u", template: fx.template },
          AbortSignal.timeout(WAIT.long),
        );
        const pgid = fx.driver.processGroup("orphans");
        assert.ok(pgid);
        // The program starts just after the VNC port is reported, so wait for the whole group.
        // sh, the X server (Xtigervnc, or Xvfb + x11vnc), xterm | the built-in server
        const want = image === "xterm" ? 3 : 1;
        const members = await eventuallyFound(
          () => {
            const m = groupMembers(pgid);
            return m.length >= want ? m : undefined;
          },
          { what: `${want} processes in the group` },
        );
        assert.ok(liveGroups().has(pgid), "the reaper's one-pass scan sees the live group");
        await fx.driver.hibernate("orphans", AbortSignal.timeout(WAIT.medium));
        assert.ok(groupMembers(pgid).every((m) => m.state === "T"));
        await fx.driver.stop("orphans", AbortSignal.timeout(WAIT.medium));
        assert.deepEqual(groupMembers(pgid), [], "no process of the group is alive after stop");
        assert.ok(!liveGroups().has(pgid), "the one-pass scan agrees the group is gone");
        for (const m of members)
          assert.ok(!isLive(m.pid), `former member ${m.pid} is gone or a zombie`);
      } finally {
        await fx.cleanup();
      }
    });
  }

  test("an agent restart re-adopts running sessions from the data dir", async () => {
    const fx = await localFixture(BUILTIN_IMAGE);
    try {
      const s = await fx.driver.start(
        { sessionId: "keep", ownerId: "u", template: fx.template },
        AbortSignal.timeout(WAIT.long),
      );
      await fx.driver.close();
      const again = await LocalDriver.open({ dataDir: fx.dir, log: silentLogger, pollMs: 100 });
      try {
        assert.deepEqual(await again.list(), [s]);
        using client = await RfbClient.connect(s.endpoint?.port ?? 0);
        client.requestUpdate(false);
        await client.nextUpdate(WAIT.medium);
        await again.stop("keep", AbortSignal.timeout(WAIT.medium));
      } finally {
        await again.close();
      }
    } finally {
      await fx.cleanup();
    }
  });

  test("a restart adopts live sessions and reports the ones that died meanwhile as stopped, until forgotten", async () => {
    const fx = await localFixture(BUILTIN_IMAGE);
    const reopen = () => LocalDriver.open({ dataDir: fx.dir, log: silentLogger, pollMs: 100 });
    try {
      const keep = await fx.driver.start(
        { sessionId: "keep", ownerId: "u", template: fx.template },
        AbortSignal.timeout(WAIT.long),
      );
      await fx.driver.start(
        { sessionId: "gone", ownerId: "u", template: fx.template },
        AbortSignal.timeout(WAIT.long),
      );
      const gonePgid = fx.driver.processGroup("gone");
      assert.ok(gonePgid);
      await fx.driver.close();
      // The desktop dies while no agent runs (a crash, an OOM kill, a reboot of the program).
      signalGroup(gonePgid, "SIGKILL");
      await eventually(() => groupMembers(gonePgid).length === 0, { what: "group gone" });

      const again = await reopen();
      try {
        assert.deepEqual(await again.list(), [keep], "the live one is adopted");
        assert.deepEqual(await again.ended(), [
          { sessionId: "gone", state: "stopped", reason: ENDED_WHILE_AWAY },
        ]);
        assert.equal(again.endpoint("gone"), undefined);
      } finally {
        await again.close();
      }
      const third = await reopen();
      try {
        assert.equal((await third.ended()).length, 1, "the ended record survives restarts");
        await third.forgetEnded(["gone"]);
        assert.deepEqual(await third.ended(), []);
      } finally {
        await third.close();
      }
      const fourth = await reopen();
      try {
        assert.deepEqual(await fourth.ended(), [], "forgotten for good");
        assert.deepEqual(await fourth.list(), [keep]);
        await fourth.stop("keep", AbortSignal.timeout(WAIT.medium));
      } finally {
        await fourth.close();
      }
    } finally {
      await fx.cleanup();
    }
  });

  test("stopAll's endings survive a restart, so an agent that could not report them still will", async () => {
    const fx = await localFixture(BUILTIN_IMAGE);
    try {
      await fx.driver.start(
        { sessionId: "sys", ownerId: "u", template: fx.template },
        AbortSignal.timeout(WAIT.long),
      );
      const pgid = fx.driver.processGroup("sys");
      assert.ok(pgid);
      await fx.driver.stopAll("stopped with the system", AbortSignal.timeout(WAIT.medium));
      assert.deepEqual(groupMembers(pgid), [], "no process of the group is left");
      await fx.driver.close();
      const again = await LocalDriver.open({ dataDir: fx.dir, log: silentLogger, pollMs: 100 });
      try {
        assert.deepEqual(await again.list(), []);
        assert.deepEqual(await again.ended(), [
          { sessionId: "sys", state: "stopped", reason: "stopped with the system" },
        ]);
      } finally {
        await again.close();
      }
    } finally {
      await fx.cleanup();
    }
  });

  test("built-in session: a key event changes pixels", async () => {
    const fx = await localFixture(BUILTIN_IMAGE);
    try {
      const s = await fx.driver.start(
        { sessionId: "keys", ownerId: "u", template: fx.template },
        AbortSignal.timeout(WAIT.long),
      );
      using client = await RfbClient.connect(s.endpoint?.port ?? 0);
      client.requestUpdate(false);
      await client.nextUpdate(WAIT.medium);
      const before = client.framebuffer.slice();
      client.keyEvent(true, 0x5a); // "Z"
      await eventuallyFound(
        async () => {
          client.requestUpdate(true);
          await client.nextUpdate(WAIT.short);
          return client.framebuffer.some((p, i) => p !== before[i] && i > 640 * 40);
        },
        { what: "typed text below the clock bar" },
      );
    } finally {
      await fx.cleanup();
    }
  });

  test("a program that is not installed is refused with a clear message", async () => {
    const fx = await localFixture("no-such-program-xyz");
    try {
      await assert.rejects(
        fx.driver.start(
          { sessionId: "nope", ownerId: "u", template: fx.template },
          AbortSignal.timeout(WAIT.medium),
        ),
        (e) =>
          e instanceof DriverError &&
          e.code === "invalid_argument" &&
          /not installed/.test(e.message),
      );
      assert.deepEqual(await fx.driver.list(), []);
    } finally {
      await fx.cleanup();
    }
  });

  /** The Xvfb command line of a session's group ("" when none is found). */
  const xvfbArgs = (pgid: number) => {
    for (const m of groupMembers(pgid)) {
      const argv = readFileSync(`/proc/${m.pid}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("Xvfb")) return argv.join(" ");
    }
    return "";
  };

  test("x11: GLX is off by default (Mesa dominates Xvfb start-up) and on with SS_GLX=1", async () => {
    const fx = await localFixture("xterm");
    try {
      for (const [id, env, glxOff] of [
        // Pinned to Xvfb + x11vnc, whose Xvfb arguments this reads.
        ["glx-off", { SS_VNC_SERVER: "x11vnc" }, true],
        ["glx-on", { SS_VNC_SERVER: "x11vnc", SS_GLX: "1" }, false],
      ] as const) {
        const template = create(TemplateSchema, { ...fx.template, env });
        await fx.driver.start(
          { sessionId: id, ownerId: "u", template },
          AbortSignal.timeout(WAIT.long),
        );
        const pgid = fx.driver.processGroup(id);
        assert.ok(pgid);
        const args = await eventuallyFound(() => xvfbArgs(pgid), { what: "Xvfb in the group" });
        assert.equal(args.includes("-extension GLX"), glxOff, args);
      }
    } finally {
      await fx.cleanup();
    }
  });

  for (const [server, xbin] of [
    ["x11vnc", "Xvfb"],
    ["xvnc", "Xtigervnc"],
  ] as const)
    test(`x11 (${xbin}): an X server that dies before reporting its display fails the start, never hangs`, async () => {
      const fx = await localFixture("xterm");
      const bin = mkdtempSync(join(tmpdir(), "ss-fake-xvfb-"));
      try {
        writeFileSync(join(bin, xbin), "#!/bin/sh\necho 'fake X server: no display' >&2\nexit 1\n");
        chmodSync(join(bin, xbin), 0o755);
        const template = create(TemplateSchema, {
          ...fx.template,
          env: { PATH: `${bin}:${process.env.PATH ?? ""}`, SS_VNC_SERVER: server },
        });
        await assert.rejects(
          fx.driver.start(
            { sessionId: "no-x", ownerId: "u", template },
            AbortSignal.timeout(WAIT.long),
          ),
          (e) =>
            e instanceof DriverError &&
            e.code === "unavailable" &&
            /exited during start/.test(e.message),
        );
        assert.deepEqual(await fx.driver.list(), []);
      } finally {
        await fx.cleanup();
        rmSync(bin, { recursive: true, force: true });
      }
    });

  test("built-in session: starts without NODE_EXTRA_CA_CERTS (Node would parse the bundle at boot)", async () => {
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    const fx = await localFixture(BUILTIN_IMAGE);
    try {
      process.env.NODE_EXTRA_CA_CERTS = "/etc/ssl/certs/ca-certificates.crt";
      await fx.driver.start(
        { sessionId: "no-ca", ownerId: "u", template: fx.template },
        AbortSignal.timeout(WAIT.long),
      );
      const pgid = fx.driver.processGroup("no-ca");
      assert.ok(pgid);
      const environ = readFileSync(`/proc/${pgid}/environ`, "utf8").split("\0");
      assert.ok(
        environ.some((e) => e.startsWith("SS_PORT_FILE=")),
        "read the server's environment",
      );
      assert.ok(!environ.some((e) => e.startsWith("NODE_EXTRA_CA_CERTS=")), environ.join(" "));
    } finally {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
      await fx.cleanup();
    }
  });
});
