import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@streamspace/common/log";
import {
  assertDriverBuilt,
  BUILT_PLATFORMS,
  openDriver,
  PLATFORM_NAMES,
  PlatformNotBuiltError,
} from "./open-driver.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));

describe("openDriver", () => {
  test("PLATFORM=local opens the local driver", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ss-open-driver-"));
    try {
      const d = await openDriver({
        platform: "local",
        dataDir: dir,
        namespace: "streamspace",
        agentId: "a-1",
        log: silentLogger,
      });
      assert.equal(d.name, "local");
      assert.deepEqual(await d.list(), []);
      await d.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const platform of ["docker"] as const) {
    test(`PLATFORM=${platform} is refused with one line until its driver is built`, async () => {
      const isNotBuilt = (e: unknown) =>
        e instanceof PlatformNotBuiltError &&
        e.message.startsWith(`PLATFORM=${platform} has no driver in this build yet`) &&
        e.message.includes("PLATFORM=local") &&
        !e.message.includes("\n");
      assert.throws(() => assertDriverBuilt(platform), isNotBuilt);
      await assert.rejects(
        openDriver({
          platform,
          dataDir: "/nonexistent",
          namespace: "ns",
          agentId: "a-1",
          log: silentLogger,
        }),
        isNotBuilt,
      );
    });
  }

  test("PLATFORM=kubernetes without credentials stops with one line saying what to set", async () => {
    const saved = { ...process.env };
    try {
      process.env.KUBECONFIG = "/nonexistent/kubeconfig";
      await assert.rejects(
        openDriver({
          platform: "kubernetes",
          dataDir: "/nonexistent",
          namespace: "ns",
          agentId: "a-1",
          log: silentLogger,
        }),
        /KUBECONFIG names \/nonexistent\/kubeconfig, which does not exist/,
      );
    } finally {
      process.env.KUBECONFIG = saved.KUBECONFIG;
      if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
    }
  });

  test("every platform has a folder; every built driver runs the shared driver suite", () => {
    for (const p of PLATFORM_NAMES) {
      assert.ok(existsSync(join(HERE, p)), `drivers/${p}/ exists`);
    }
    assert.ok(BUILT_PLATFORMS.includes("local"));
    assert.ok(BUILT_PLATFORMS.includes("kubernetes"));
    for (const p of BUILT_PLATFORMS) {
      const testFile = join(HERE, p, `${p}-driver.test.ts`);
      assert.ok(existsSync(testFile), `drivers/${p}/${p}-driver.test.ts exists`);
      assert.match(
        readFileSync(testFile, "utf8"),
        /runDriverCases\(/,
        `drivers/${p}/${p}-driver.test.ts runs the shared suite from driver-cases.ts`,
      );
    }
  });
});
