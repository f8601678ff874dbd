/**
 * Local driver session start, driver part only (Driver.start → VNC port reported; the API and
 * stream hops are measured by the end-to-end bench): sequential starts of the built-in server
 * and of Xvfb + x11vnc + xterm, each stopped again before the next.
 *
 *   node --import tsx bench/agents/local-session-start.ts [runs=20]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { LocalDriver } from "@streamspace/agents/local-driver";
import { TemplateSchema } from "@streamspace/proto/streamspace/v1/types_pb";

const runs = Number(process.argv[2] ?? 20);
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const dir = mkdtempSync(join(tmpdir(), "ss-start-bench-"));
const driver = await LocalDriver.open({ dataDir: dir, log: quiet });
try {
  for (const image of ["builtin:demo", "xterm"]) {
    const template = create(TemplateSchema, { id: image, name: image, image });
    const xs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await driver.start(
        { sessionId: `b${i}`, ownerId: "bench", template },
        AbortSignal.timeout(30_000),
      );
      xs.push(performance.now() - t);
      await driver.stop(`b${i}`, AbortSignal.timeout(10_000));
    }
    xs.sort((a, b) => a - b);
    const q = (p: number) =>
      (xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0).toFixed(0);
    console.log(
      `${image.padEnd(13)} runs=${runs} p50=${q(0.5)} ms p95=${q(0.95)} ms max=${q(1)} ms`,
    );
  }
} finally {
  await driver.close();
  rmSync(dir, { recursive: true, force: true });
}
