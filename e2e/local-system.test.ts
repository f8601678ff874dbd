/**
 * The README's start command brings the system up with the local
 * agent connected, stopping leaves no process behind and frees the ports, the data folder is
 * kept, and a second start finds the data again. How long a start takes is a benchmark
 * (bench/system/local-start.ts), not an assertion here.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePorts, getJson, startLocalSystem } from "../scripts/local-system.ts";
import { descendantsOf, isAlive, listenersOf } from "../scripts/process-table.ts";
import { waitForPort } from "../scripts/services.ts";

test("npm start: agent connected, every listener on loopback, clean stop, data survives a restart", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "ss-local-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: string[] = [];
  const output = (name: string, line: string) => logs.push(`${name}: ${line}`);
  try {
    const ports = await freePorts();
    await using first = await startLocalSystem({ dataDir, output, ...ports });
    const health = await getJson<{ agents: { connected: number }; status: string }>(
      `${first.url}/health`,
    );
    assert.equal(health.status, "ok");
    assert.equal(health.agents.connected, 1);
    // The system's processes and everything they started.
    const pids = Object.values(first.pids);
    const tree = [...pids, ...pids.flatMap((p) => descendantsOf(p).map((d) => d.pid))];
    const listeners = listenersOf(tree);
    assert.deepEqual(
      [...new Set(listeners.map((l) => l.port))].sort(),
      [ports.port, ports.relayPort, ports.agentHealthPort].sort(),
      "the control plane, relay and agent health ports",
    );
    for (const l of listeners)
      assert.equal(l.address, "127.0.0.1", `port ${l.port} is loopback only`);

    await first.stop();
    for (const pid of tree)
      assert.equal(isAlive(pid), false, `process ${pid} still alive after stop`);
    for (const port of Object.values(ports))
      await assert.rejects(waitForPort(port, 200), /nothing listens/, `port ${port} freed`);
    assert.ok(existsSync(join(dataDir, "control-plane")), "data folder kept");
    const kept = readdirSync(join(dataDir, "control-plane"));

    await using second = await startLocalSystem({ dataDir, output, ...(await freePorts()) });
    assert.equal(second.password, first.password, "the same admin password after a restart");
    assert.deepEqual(
      readdirSync(join(dataDir, "control-plane")).filter((f) => kept.includes(f)),
      kept,
    );
  } catch (err) {
    process.stderr.write(`${logs.slice(-60).join("\n")}\n`);
    throw err;
  }
});
