/**
 * The test bed itself: it starts, schedules a pod onto its fake node with an address inside
 * 127.0.0.0/8, and leaves no process behind — neither when disposed nor when the process that
 * started it is killed outright (every component runs under lifeline.sh).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { test } from "node:test";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { startK8sTestbed } from "./testbed.ts";
import { apiCall, apiMust } from "./testbed-api.ts";

/** PIDs of processes whose command line mentions `needle` (the bed's folder). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

test("a bed runs pods on 127.77.x.x addresses and its dispose leaves no process", async () => {
  let dir = "";
  {
    await using bed = await startK8sTestbed({ own: true });
    dir = bed.dir;
    assert.match(bed.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(
      processesMentioning(dir).length >= 5,
      "etcd, API server, controllers, scheduler, kwok",
    );
    const ns = await bed.namespace("bed");
    await apiMust(bed.admin, "POST", `/api/v1/namespaces/${ns}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "streamspace.test/desktop:1" }] },
    });
    const ip = await eventuallyFound(
      async () => {
        const a = await apiCall(bed.admin, "GET", `/api/v1/namespaces/${ns}/pods/p`);
        const st = (a.body as { status?: { podIP?: string; phase?: string } }).status;
        return st?.phase === "Running" ? st.podIP : undefined;
      },
      { what: "the pod to run", timeoutMs: WAIT.long },
    );
    assert.match(ip, /^127\.77\./);
  }
  assert.deepEqual(processesMentioning(dir), [], "every component stopped");
});

test("when the process that started a bed is killed, its components stop too", async () => {
  const script = `
    import { startK8sTestbed } from "./scripts/k8s-testbed/testbed.ts";
    const bed = await startK8sTestbed({ own: true });
    process.stdout.write(bed.dir + "\\n");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let dir = "";
  try {
    dir = await new Promise<string>((resolve, reject) => {
      let buf = "";
      child.stdout?.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes("\n")) resolve(buf.trim());
      });
      child.once("exit", (c) => reject(new Error(`the bed's owner exited early (${c})`)));
    });
    assert.ok(processesMentioning(dir).length >= 5);
    child.kill("SIGKILL");
    await eventually(() => assert.deepEqual(processesMentioning(dir), []), {
      what: "the orphaned components to stop",
      timeoutMs: WAIT.long,
    });
  } finally {
    child.kill("SIGKILL");
    // The owner died before it could remove its folder; the test does.
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});
