/**
 * Issue 2's walking skeleton: the README's start command brings the system up, /health shows the
 * local agent connected within 10 s, stopping leaves no process behind and keeps the data, and a
 * second start finds the data again.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePorts, startLocalSystem } from "../scripts/local-system.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("npm start: agent connected within 10 s, clean stop, data survives a restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ss-local-"));
  const logs: string[] = [];
  const output = (name: string, line: string) => logs.push(`${name}: ${line}`);
  try {
    const t0 = Date.now();
    const first = await startLocalSystem({ dataDir, output, ...(await freePorts()) });
    const startMs = Date.now() - t0;
    const health = (await (await fetch(`${first.url}/health`)).json()) as {
      agents: { connected: number };
      status: string;
    };
    assert.equal(health.status, "ok");
    assert.equal(health.agents.connected, 1);
    assert.ok(startMs < 10_000 + 5_000, `start took ${startMs} ms`);
    const pids = Object.values(first.pids);
    await first.stop();
    for (const pid of pids)
      assert.equal(alive(pid), false, `process ${pid} still alive after stop`);
    assert.ok(existsSync(join(dataDir, "control-plane")), "data folder kept");
    const kept = readdirSync(join(dataDir, "control-plane"));

    const second = await startLocalSystem({ dataDir, output, ...(await freePorts()) });
    try {
      assert.equal(second.password, first.password, "the same admin password after a restart");
      assert.deepEqual(
        readdirSync(join(dataDir, "control-plane")).filter((f) => kept.includes(f)),
        kept,
      );
    } finally {
      await second.stop();
    }
  } catch (err) {
    process.stderr.write(`${logs.slice(-60).join("\n")}\n`);
    throw err;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
