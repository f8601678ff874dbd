import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { webBuildIsStale } from "./web-build.ts";

test("the web build is stale when missing or older than a source, fresh otherwise", () => {
  const root = mkdtempSync(join(tmpdir(), "web-build-"));
  try {
    mkdirSync(join(root, "web/src/pages"), { recursive: true });
    writeFileSync(join(root, "web/index.html"), "<div id=root></div>");
    writeFileSync(join(root, "web/src/pages/a.tsx"), "export {}");
    assert.equal(webBuildIsStale(root), true, "never built");

    mkdirSync(join(root, "web/dist"));
    writeFileSync(join(root, "web/dist/index.html"), "built");
    const t = Date.now() / 1000;
    utimesSync(join(root, "web/index.html"), t - 60, t - 60);
    utimesSync(join(root, "web/src/pages/a.tsx"), t - 60, t - 60);
    utimesSync(join(root, "web/dist/index.html"), t - 30, t - 30);
    assert.equal(webBuildIsStale(root), false, "built after every source");

    utimesSync(join(root, "web/src/pages/a.tsx"), t, t);
    assert.equal(webBuildIsStale(root), true, "a nested source changed after the build");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
