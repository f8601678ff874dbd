/**
 * The session programs that ship with the agent, run by the real local driver on real Xvfb +
 * x11vnc: the Linux desktop (openbox, tint2, xterm, pcmanfm), the kiosk browser (Chromium), a
 * window manager for any X template, and the template's name as the VNC desktop name. Each
 * stop must leave no process behind (Chromium starts many).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { silentLogger } from "@streamspace/common/log";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { TemplateSchema } from "@streamspace/proto/streamspace/v1/types_pb";
import { DriverError } from "../../runtime/driver.ts";
import { rawRfbViewer } from "../../testing/raw-rfb-viewer.ts";
import { RfbClient } from "../../vnc/rfb-client.ts";
import { LocalDriver } from "./local-driver.ts";
import { groupMembers } from "./process-group.ts";

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};

async function withDriver(fn: (d: LocalDriver, dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "ss-session-programs-"));
  const driver = await LocalDriver.open({ dataDir: dir, log: silentLogger, pollMs: 100 });
  try {
    await fn(driver, dir);
  } finally {
    for (const s of await driver.list())
      await driver.stop(s.sessionId, AbortSignal.timeout(WAIT.medium));
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const template = (displayName: string, command: string[], env: Record<string, string> = {}) =>
  create(TemplateSchema, { name: "t", displayName, image: "xvfb", command, env });

/** Starts a session and waits until its group runs every named program. */
async function startWith(
  driver: LocalDriver,
  id: string,
  t: ReturnType<typeof template>,
  want: string[],
) {
  const s = await driver.start(
    { sessionId: id, ownerId: "u", template: t },
    AbortSignal.timeout(WAIT.long),
  );
  const pgid = driver.processGroup(id);
  assert.ok(pgid && s.endpoint);
  const names = await eventuallyFound(
    () => {
      const n = new Set(groupMembers(pgid).map((m) => comm(m.pid)));
      return want.every((w) => n.has(w)) ? n : undefined;
    },
    { what: `${want.join(", ")} in the session`, timeoutMs: WAIT.long },
  );
  return { pgid, names, port: s.endpoint.port };
}

describe("session programs on the local driver", () => {
  test("the Linux desktop runs openbox, its panel, a terminal and a file manager", async () => {
    await withDriver(async (driver) => {
      const { pgid, port } = await startWith(
        driver,
        "desk",
        template("Linux desktop", ["streamspace-desktop"]),
        ["openbox", "tint2", "xterm", "pcmanfm"],
      );
      using client = await RfbClient.connect(port);
      assert.equal(client.name, "Linux desktop", "the VNC desktop is named after the template");
      client.requestUpdate(false);
      await client.nextUpdate(WAIT.medium);
      const colours = new Set(client.framebuffer);
      assert.ok(colours.size > 20, `a drawn desktop, not a flat screen (${colours.size} colours)`);
      await driver.stop("desk", AbortSignal.timeout(WAIT.medium));
      assert.deepEqual(groupMembers(pgid), [], "nothing of the desktop is left");
    });
  });

  test("the browser runs Chromium in kiosk mode and leaves nothing behind", async () => {
    await withDriver(async (driver) => {
      const { pgid } = await startWith(
        driver,
        "web",
        template("Web browser", ["streamspace-browser"], { SS_BROWSER_URL: "about:blank" }),
        ["openbox", "chromium"],
      );
      await driver.stop("web", AbortSignal.timeout(WAIT.medium));
      assert.deepEqual(groupMembers(pgid), [], "every Chromium process ended with the session");
    });
  });

  test("SS_WINDOW_MANAGER gives any X template a window manager", async () => {
    await withDriver(async (driver) => {
      await startWith(
        driver,
        "term",
        template("Terminal", ["xterm"], { SS_WINDOW_MANAGER: "openbox" }),
        ["openbox", "xterm"],
      );
    });
  });

  test("on Xtigervnc the X desktop follows the viewer's size; x11vnc refuses, as documented", async () => {
    await withDriver(async (driver, dir) => {
      const env = { SS_WINDOW_MANAGER: "openbox" };
      const tiger = await startWith(
        driver,
        "tiger",
        template("Terminal", ["xterm"], { ...env, SS_VNC_SERVER: "xvnc" }),
        ["Xtigervnc", "xterm"],
      );
      const v = await rawRfbViewer(tiger.port, [0, -308]);
      try {
        assert.equal(v.name, "Terminal", "the VNC desktop is named after the template");
        v.request(false);
        assert.equal((await v.sizeChange()).w, v.width, "the size is announced first");
        v.setDesktopSize(1000, 700);
        v.request(true);
        const changed = await v.sizeChange();
        // Status 0 (done); TigerVNC may tell the new size as its own change (reason 0) first.
        assert.deepEqual([changed.y, changed.w, changed.h], [0, 1000, 700], "resized as asked");
        const display = `:${readFileSync(join(dir, "sessions", "tiger.display"), "utf8").trim()}`;
        const xrandr = execFileSync("xrandr", ["-display", display], { encoding: "utf8" });
        assert.match(xrandr, /current 1000 x 700/, "the X screen itself changed size");
      } finally {
        v.socket.destroy();
      }

      const x11 = await startWith(
        driver,
        "x11",
        template("Terminal", ["xterm"], { ...env, SS_VNC_SERVER: "x11vnc" }),
        ["Xvfb", "x11vnc"],
      );
      const w = await rawRfbViewer(x11.port, [0, -308]);
      try {
        w.request(false);
        await w.sizeChange();
        w.setDesktopSize(1000, 700);
        w.request(true);
        const refused = await w.sizeChange();
        assert.equal(refused.y, 1, "x11vnc answers 'resize is administratively prohibited'");
      } finally {
        w.socket.destroy();
      }
    });
  });

  test("an unknown session program is refused with what to do", async () => {
    await withDriver(async (driver) => {
      await assert.rejects(
        driver.start(
          { sessionId: "nope", ownerId: "u", template: template("x", ["streamspace-nope"]) },
          AbortSignal.timeout(WAIT.medium),
        ),
        (e: DriverError) =>
          e instanceof DriverError &&
          e.code === "invalid_argument" &&
          /"streamspace-nope" of template .* is not installed/.test(e.message),
      );
    });
  });
});
