/**
 * What the Engine cannot tell the driver, kept in AGENT_DATA_DIR/docker-sessions/<id>.json:
 * - that a stopped container is a *hibernated* session (the Engine shows it exited, exactly as
 *   a desktop that ended), so a restarted agent reports it hibernated and wake starts it;
 * - sessions that ended with no control plane told (state `stopped`, with a reason), reported
 *   by the next Hello until forgetEnded().
 * Running sessions need no record: the Engine lists them by the agent's label. Records are
 * written atomically (temp file + rename). Replicas of one agent on other hosts do not share
 * this folder; a hibernated session found there without its record is reported as ended (see
 * the driver's README).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One record. */
export interface DockerSessionRecord {
  sessionId: string;
  state: "hibernated" | "stopped";
  /** Why a `stopped` session ended, as the control plane will show it. */
  reason?: string;
}

/** File-per-session store under one directory. */
export class DockerSessionStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "docker-sessions");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  save(rec: DockerSessionRecord): void {
    const file = join(this.dir, `${rec.sessionId}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(rec));
    renameSync(`${file}.tmp`, file);
  }

  remove(sessionId: string): void {
    rmSync(join(this.dir, `${sessionId}.json`), { force: true });
  }

  /** Every readable record; unreadable files are dropped. */
  loadAll(): DockerSessionRecord[] {
    const out: DockerSessionRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".json")) continue;
      try {
        const rec = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as DockerSessionRecord;
        if (rec.sessionId !== name.slice(0, -5)) throw new Error("mismatch");
        out.push(rec);
      } catch {
        rmSync(join(this.dir, name), { force: true });
      }
    }
    return out;
  }
}
