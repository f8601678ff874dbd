// Latency diagnostics for a relay or agent process under bench/relay/run.ts (opt-in: pass
// `--require bench/relay/diag-preload.cjs` via RELAY_NODE_ARGS / AGENT_NODE_ARGS and set
// DIAG_DIR). Records every GC pause and event-loop delay so tail RTT can be lined up with them.
"use strict";
const { PerformanceObserver, monitorEventLoopDelay, performance } = require("node:perf_hooks");
const { readFileSync, writeFileSync } = require("node:fs");
const { basename, join } = require("node:path");

const dir = process.env.DIAG_DIR;
if (dir) {
  const role = basename(process.argv[1] || "node").replace(/\.\w+$/, "");
  const gc = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gc.push([
        +(performance.timeOrigin + e.startTime).toFixed(2),
        +e.duration.toFixed(3),
        e.detail?.kind ?? e.kind,
      ]);
  }).observe({ entryTypes: ["gc"] });
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  // Per 1 s bucket: event-loop delay p50/p99/max (ms), and from /proc/self/schedstat the
  // cumulative ms this process ran and waited runnable for a CPU (scheduler delay) and
  // how many times it was put on a CPU.
  const buckets = [];
  const sched = () => {
    try {
      const [run, wait, slices] = readFileSync("/proc/self/schedstat", "utf8")
        .split(" ")
        .map(Number);
      return [+(run / 1e6).toFixed(1), +(wait / 1e6).toFixed(1), slices];
    } catch {
      return [0, 0, 0];
    }
  };
  setInterval(() => {
    buckets.push([
      Date.now(),
      +(eld.percentile(50) / 1e6).toFixed(2),
      +(eld.percentile(99) / 1e6).toFixed(2),
      +(eld.max / 1e6).toFixed(2),
      ...sched(),
    ]);
    eld.reset();
  }, 1000).unref();
  const dump = () =>
    writeFileSync(
      join(dir, `${role}-${process.pid}.json`),
      JSON.stringify({ role, gc, eld: buckets }),
    );
  setInterval(dump, 2000).unref();
  process.on("exit", dump);
}
