import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@streamspace/common/log";
import type { Driver } from "../runtime/driver.ts";
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

  test("PLATFORM=docker opens on a DOCKER_HOST that does not answer, reporting it and refusing starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ss-open-driver-"));
    try {
      const d = (await openDriver({
        platform: "docker",
        dataDir: dir,
        namespace: "ns",
        agentId: "a-1",
        dockerHost: `unix://${join(dir, "no-engine.sock")}`,
        log: silentLogger,
      })) as Driver;
      assert.equal(d.name, "docker");
      assert.match(d.platformProblem?.() ?? "", /no-engine\.sock does not answer/);
      await d.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a platform without a driver is refused in one line", () => {
    const e = new PlatformNotBuiltError("vm");
    assert.ok(e.message.startsWith("PLATFORM=vm has no driver in this build yet"));
    assert.ok(!e.message.includes("\n"));
    for (const p of PLATFORM_NAMES) assert.doesNotThrow(() => assertDriverBuilt(p));
  });

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
    assert.ok(BUILT_PLATFORMS.includes("docker"));
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
