/**
 * The local driver's on-disk record of each session (AGENT_DATA_DIR/sessions/<id>.json), so a
 * restarted agent re-adopts the process groups it left running instead of forgetting them, and
 * reports the ones that ended (state `stopped`, with a reason) until a control plane has heard.
 * Records are written atomically (temp file + rename): a crash never leaves half a record.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What the driver must remember to find a session's processes again. */
export interface LocalSessionRecord {
  sessionId: string;
  kind: "x11" | "builtin";
  /** Process group id (= the leader's pid). */
  pgid: number;
  /** The leader's start time from /proc, so a reused pid is not mistaken for our session. */
  startTime: number;
  port: number;
  /** `stopped`: the processes are gone and the record waits until a control plane is told. */
  state: "running" | "hibernated" | "stopped";
  createdAt: string;
  /** Why a `stopped` session ended, as the control plane will show it. */
  reason?: string;
}

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Session ids become file names, so only a safe alphabet is accepted. */
export function isValidSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}

/** File-per-session store under one directory. */
export class LocalSessionStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "sessions");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Paths of a session's scratch files (logs, port and display reports). */
  paths(sessionId: string): { record: string; log: string; port: string; display: string } {
    const base = join(this.dir, sessionId);
    return {
      record: `${base}.json`,
      log: `${base}.log`,
      port: `${base}.port`,
      display: `${base}.display`,
    };
  }

  save(rec: LocalSessionRecord): void {
    const { record } = this.paths(rec.sessionId);
    writeFileSync(`${record}.tmp`, JSON.stringify(rec));
    renameSync(`${record}.tmp`, record);
  }

  /** Removes every file of the session. */
  remove(sessionId: string): void {
    for (const p of Object.values(this.paths(sessionId))) rmSync(p, { force: true });
  }

  /** Every readable record; unreadable ones are returned by id so the caller can log and drop them. */
  loadAll(): { records: LocalSessionRecord[]; broken: string[] } {
    const records: LocalSessionRecord[] = [];
    const broken: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".json")) continue;
      const id = name.slice(0, -5);
      try {
        const rec = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as LocalSessionRecord;
        if (rec.sessionId !== id || !Number.isInteger(rec.pgid) || !Number.isInteger(rec.port))
          throw new Error("bad");
        records.push(rec);
      } catch {
        broken.push(id);
      }
    }
    return { records, broken };
  }
}
