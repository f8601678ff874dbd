import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMetrics } from "./metrics.ts";

describe("metrics", () => {
  test("default process, GC and event-loop metrics are exposed", async () => {
    const m = createMetrics();
    const text = await m.text();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram/m);
    assert.match(m.contentType, /^text\/plain/);
  });

  test("default metrics can be left out; default labels go on every series", async () => {
    const m = createMetrics({ defaultMetrics: false, defaultLabels: { relay: "r1" } });
    m.counter("x_total", "x").inc();
    const text = await m.text();
    assert.doesNotMatch(text, /process_cpu/);
    assert.match(text, /^x_total\{relay="r1"\} 1$/m);
  });

  test("counters, gauges and histograms with labels", async () => {
    const m = createMetrics({ defaultMetrics: false });
    const c = m.counter("streamspace_commands_dispatched_total", "c", { labels: ["kind"] });
    c.inc({ kind: "start" });
    c.inc({ kind: "start" }, 2);
    m.gauge("g", "g").set(7);
    const h = m.histogram("d_seconds", "d", { labels: ["path"], buckets: [0.1, 1] });
    h.observe({ path: "/a" }, 0.05);
    h.observe({ path: "/a" }, 5);
    const text = await m.text();
    assert.match(text, /^streamspace_commands_dispatched_total\{kind="start"\} 3$/m);
    assert.match(text, /^g 7$/m);
    assert.match(text, /^d_seconds_bucket\{le="0.1",path="\/a"\} 1$/m);
    assert.match(text, /^d_seconds_bucket\{le="\+Inf",path="\/a"\} 2$/m);
    assert.match(text, /^d_seconds_count\{path="\/a"\} 2$/m);
  });

  test("collect reads live values at scrape time, unlabelled or per label set", async () => {
    const m = createMetrics({ defaultMetrics: false });
    let agents = 3;
    let bytes = 10;
    m.gauge("streamspace_agents_connected", "a", { collect: () => agents });
    m.gauge("per_pod", "p", {
      labels: ["pod"],
      collect: () => [
        [{ pod: "a" }, 1],
        [{ pod: "b" }, 2],
      ],
    });
    m.counter("bytes_total", "b", { collect: () => bytes });
    m.counter("zero_total", "z", { labels: ["relay"], collect: () => [[{ relay: "r" }, 0]] });
    assert.match(await m.text(), /^streamspace_agents_connected 3$/m);
    assert.match(await m.text(), /^zero_total\{relay="r"\} 0$/m, "zero is a value, not a gap");
    agents = 5;
    bytes = 25;
    const text = await m.text();
    assert.match(text, /^streamspace_agents_connected 5$/m);
    assert.match(text, /^per_pod\{pod="b"\} 2$/m);
    assert.match(text, /^bytes_total 25$/m);
  });

  test("registering a name twice returns the same metric; another type is refused", () => {
    const m = createMetrics({ defaultMetrics: false });
    assert.equal(m.counter("a_total", "a"), m.counter("a_total", "a"));
    assert.throws(() => m.gauge("a_total", "a"), /another type/);
  });

  test("two registries in one process do not collide", async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.counter("same_total", "s").inc();
    b.counter("same_total", "s").inc(2);
    assert.match(await a.text(), /^same_total 1$/m);
    assert.match(await b.text(), /^same_total 2$/m);
  });
});
