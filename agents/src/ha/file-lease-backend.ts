/**
 * LeaseBackend on a shared file system (replicas on one host, or a shared volume with POSIX
 * rename semantics). The lease file holds `{holder, expiresAt}` (wall-clock ms from the
 * injected clock) and is replaced atomically (write temp + rename).
 *
 * Read-check-write is guarded by a lock file created with O_EXCL ("wx"), which is atomic on
 * local file systems and NFSv3+; no flock(), which Node lacks. The lock is held for one
 * read and one write. A lock older than `staleLockMs` is assumed left by a crashed process
 * and broken; the only unsafe window is a process crashing inside that microsecond section
 * *and* two others breaking it at once, which could give a short double leadership that the
 * next renew resolves (the loser sees another holder and steps down).
 */
import { randomUUID } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { type Clock, systemClock } from "@streamspace/common/clock";
import type { LeaseBackend } from "./lease-backend.ts";

interface LeaseFile {
  holder: string;
  expiresAt: number;
}

/** File lease at `path` (its directory is created). */
export class FileLeaseBackend implements LeaseBackend {
  private readonly lockPath: string;

  constructor(
    private readonly path: string,
    private readonly clock: Clock = systemClock,
    private readonly staleLockMs = 2_000,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.lockPath = `${path}.lock`;
  }

  async acquireOrRenew(holder: string, ttlMs: number): Promise<boolean> {
    return this.withLock(() => {
      const now = this.clock.now();
      const cur = this.read();
      if (cur && cur.holder !== holder && cur.expiresAt > now) return false;
      this.write({ holder, expiresAt: now + ttlMs });
      return true;
    });
  }

  async release(holder: string): Promise<void> {
    await this.withLock(() => {
      if (this.read()?.holder === holder) rmSync(this.path, { force: true });
      return true;
    });
  }

  async close(): Promise<void> {}

  private read(): LeaseFile | undefined {
    try {
      const v = JSON.parse(readFileSync(this.path, "utf8")) as LeaseFile;
      return typeof v.holder === "string" && typeof v.expiresAt === "number" ? v : undefined;
    } catch {
      return undefined; // absent or torn: treated as free (writes are atomic, so torn means foreign)
    }
  }

  private write(v: LeaseFile): void {
    const tmp = `${this.path}.${randomUUID()}.tmp`;
    writeFileSync(tmp, JSON.stringify(v));
    renameSync(tmp, this.path);
  }

  private async withLock(fn: () => boolean): Promise<boolean> {
    for (let i = 0; i < 20; i++) {
      let fd: number | undefined;
      try {
        fd = openSync(this.lockPath, "wx");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        try {
          if (Date.now() - statSync(this.lockPath).mtimeMs > this.staleLockMs)
            rmSync(this.lockPath, { force: true });
        } catch {
          // vanished meanwhile: retry
        }
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 5));
        continue;
      }
      try {
        return fn();
      } finally {
        closeSync(fd);
        rmSync(this.lockPath, { force: true });
      }
    }
    return false; // contended: counts as a failed attempt, the elector retries
  }
}
