/**
 * Messages between the round-trip orchestrator and its child processes (pods, agents). Times
 * are milliseconds of CLOCK_MONOTONIC (`process.hrtime`), which every process on one Linux
 * machine shares, so a send time in one process and a receive time in another subtract.
 */

/** Milliseconds on the machine-wide monotonic clock. */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Orchestrator → pod: issue `rate` commands a second for `seconds` to agents 0..agents-1. */
export interface RunRequest {
  type: "run";
  runId: number;
  rate: number;
  seconds: number;
  agents: number;
}

/** Orchestrator → agents process: hand over the receive times gathered so far. */
export interface CollectRequest {
  type: "collect";
}

/** One pod's per-stage timings since the last "trace" request (monotonic ms). */
export interface StageTrace {
  /** Command id → when its INSERT returned (in the issuing pod). */
  insertDone: Record<string, number>;
  /** Agent id → when pokes for it reached this pod's dispatcher. */
  pokes: Record<string, number[]>;
  /** Each claimDue statement: start, end, agents asked for, rows it returned. */
  claims: { start: number; end: number; agents: number; ids: string[] }[];
  /** Each ack UPDATE: start, end, acks in it. */
  acks: { start: number; end: number; n: number }[];
  /** GC pauses (performance timeline ms, not monotonic: only durations are used). */
  gc: { at: number; ms: number }[];
}

/** Child → orchestrator. */
export type ChildReport =
  /** A pod is up (url set when it serves agents); an agents process has all streams up. */
  | { type: "ready"; url?: string }
  /** A pod finished a run: when each command's INSERT started. */
  | { type: "sent"; runId: number; ids: string[]; at: number[] }
  /** A pod's delivery statements so far (claims and ack batches it ran). */
  | { type: "stats"; claims: number; acks: number }
  /** A pod's stage trace and event-loop delay (ms) since the last trace request. */
  | { type: "trace"; trace: StageTrace; eld: { p50: number; p99: number; max: number } }
  /** First receipt of each command id since the last collect. */
  | { type: "received"; ids: string[]; at: number[] };
