/**
 * `npm start` as a person (or a supervisor) runs and stops it: the command prints its progress
 * and the banner last, keeps the processes' logs in files, every listener is on 127.0.0.1, and
 * a stop signal to any process of the tree — npm itself (SIGTERM from `kill`, SIGINT), one of
 * the children, or start.ts killed outright — ends every process and frees every port.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { eventually, WAIT } from "@streamspace/common/testing";
import { freePorts } from "./local-system.ts";
import { spawnOwned } from "./owned-child.ts";
import { descendantsOf, isAlive, killAll, listenersOf, type ProcessInfo } from "./process-table.ts";
import { waitForPort } from "./services.ts";

const ROOT = resolve(import.meta.dirname, "..");
const BANNER_END = "  Stop      Ctrl-C";

/**
 * One data folder for the whole file, as a person restarting `npm start` has: the first start
 * creates it, the later ones find it (and start faster).
 */
const dataDir = mkdtempSync(join(tmpdir(), "ss-start-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** `npm start` on free ports, disposed (everything it started killed) at the end. */
async function npmStart() {
  const ports = await freePorts();
  // A person's shell, not the test runner's: no test database or Redis to pick up.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(DATABASE_URL|DB_[A-Z]+|REDIS_URL|TEST_[A-Z_]+)$/.test(k)) env[k] = v;
  }
  const npm = spawnOwned("npm start", "npm", ["start"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...env,
      PORT: String(ports.port),
      RELAY_PORT: String(ports.relayPort),
      AGENT_HEALTH_PORT: String(ports.agentHealthPort),
      DATA_DIR: dataDir,
    },
  });
  let stdout = "";
  let stderr = "";
  npm.child.stdout?.on("data", (d) => {
    stdout += d;
  });
  npm.child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const seen = new Map<number, ProcessInfo>();
  /** The processes under npm now (remembered, so they can be checked after they leave it). */
  const tree = () => {
    for (const p of descendantsOf(npm.pid)) seen.set(p.pid, p);
    return descendantsOf(npm.pid);
  };
  return {
    npm,
    ports,
    dataDir,
    output: () => `--- stdout\n${stdout}\n--- stderr\n${stderr}`,
    stdout: () => stdout,
    tree,
    /** Resolves once the banner is complete; fails if npm exits first. */
    async banner(): Promise<void> {
      await eventually(
        () => {
          if (!npm.alive)
            throw new Error(`npm start exited before the banner:\n${stdout}${stderr}`);
          assert.ok(stdout.includes(BANNER_END), "banner not printed yet");
        },
        { timeoutMs: 5 * 60_000, intervalMs: 100 },
      );
      tree();
    },
    /** Every process that was ever under npm has exited, and the three ports are free. */
    async allGone(): Promise<void> {
      await eventually(
        () => {
          assert.equal(npm.alive, false, "npm itself exits");
          const alive = [...seen.values()].filter((p) => isAlive(p.pid));
          assert.deepEqual(
            alive.map((p) => `${p.pid} ${p.cmdline}`),
            [],
            "processes still running",
          );
        },
        { timeoutMs: WAIT.slow },
      );
      for (const port of Object.values(ports))
        await assert.rejects(waitForPort(port, 200), /nothing listens/, `port ${port} is free`);
    },
    async [Symbol.asyncDispose]() {
      killAll(
        [...seen.values()].filter((p) => isAlive(p.pid)),
        "SIGKILL",
      );
      await npm.stop({ signal: "SIGKILL" });
    },
  };
}

type Started = Awaited<ReturnType<typeof npmStart>>;

/** The named child of start.ts (by its entry script), e.g. "dataplane/src/main.ts". */
function child(s: Started, script: string): ProcessInfo {
  const found = s.tree().find((p) => p.cmdline.includes(script));
  assert.ok(found, `${script} runs under npm start`);
  return found;
}

describe("npm start", { timeout: 10 * 60_000 }, () => {
  test("progress, then the banner last; logs in files; loopback only; SIGTERM to npm stops all", async () => {
    await using s = await npmStart();
    try {
      await s.banner();
      const out = s.stdout();
      // Progress before the banner, in order; the banner is the end of the output.
      const steps = [
        "Checking system packages",
        "Starting the control plane",
        "Starting the relay",
        "Starting the local agent",
        "Waiting for the agent to connect",
        "StreamSpace is running.",
      ].map((step) => out.indexOf(step));
      assert.ok(
        steps.every((i, n) => i >= 0 && (n === 0 || i > (steps[n - 1] as number))),
        `progress lines in order: ${steps}`,
      );
      assert.ok(out.trimEnd().endsWith(BANNER_END.trim()), "the banner is the last thing printed");
      assert.doesNotMatch(out, /"level":/, "no process log lines on the terminal");
      const logs = join(s.dataDir, "logs");
      for (const name of ["agent.log", "control-plane.log", "relay.log"])
        assert.ok(readdirSync(logs).includes(name), `${name} in ${logs}`);
      assert.match(readFileSync(join(logs, "control-plane.log"), "utf8"), /"level":/);

      const listeners = listenersOf(s.tree().map((p) => p.pid));
      assert.deepEqual(
        [...new Set(listeners.map((l) => l.port))].sort(),
        Object.values(s.ports).sort(),
      );
      for (const l of listeners) assert.equal(l.address, "127.0.0.1", `port ${l.port} on loopback`);

      s.npm.child.kill("SIGTERM");
      await s.allGone();
      assert.ok(existsSync(join(s.dataDir, "control-plane")), "the data folder is kept");
    } catch (err) {
      process.stderr.write(s.output());
      throw err;
    }
  });

  test("SIGINT to npm alone (not its process group) stops all", async () => {
    await using s = await npmStart();
    try {
      await s.banner();
      s.npm.child.kill("SIGINT");
      await s.allGone();
    } catch (err) {
      process.stderr.write(s.output());
      throw err;
    }
  });

  test("SIGTERM to one child (the relay) stops all", async () => {
    await using s = await npmStart();
    try {
      await s.banner();
      process.kill(child(s, "dataplane/src/main.ts").pid, "SIGTERM");
      await s.allGone();
      assert.match(s.stdout(), /the relay process (exited|was killed)/, "it says why it stops");
    } catch (err) {
      process.stderr.write(s.output());
      throw err;
    }
  });

  test("start.ts killed outright: its children stop by themselves", async () => {
    await using s = await npmStart();
    try {
      await s.banner();
      process.kill(child(s, "scripts/start.ts").pid, "SIGKILL");
      await s.allGone();
    } catch (err) {
      process.stderr.write(s.output());
      throw err;
    }
  });
});
