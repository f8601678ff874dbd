import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { FileLeaseBackend } from "./file-lease-backend.ts";
import { runLeaseBackendCases } from "./lease-backend-cases.ts";

const dir = mkdtempSync(join(tmpdir(), "ss-lease-"));
after(() => rmSync(dir, { recursive: true, force: true }));

runLeaseBackendCases("file", () => {
  const path = join(dir, `lease-${randomUUID()}`);
  return () => new FileLeaseBackend(path);
});
