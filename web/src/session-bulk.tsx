/**
 * Bulk session actions (stop, hibernate, delete many; "clear stopped"): each session goes
 * through the same procedure as its own button, so the server checks and audits every one, and
 * the page shows progress and a sentence about what happened, naming the first refusal.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { runBulk } from "./bulk-run.ts";
import { type SessionView, usePutSession } from "./session-actions.tsx";
import { errorMessage, retryAfterOf, useTRPC, useTRPCClient } from "./trpc.ts";

export type BulkAction = "stop" | "hibernate" | "delete";

const WORDS: Record<BulkAction, { doing: string; done: string; verb: string }> = {
  stop: { doing: "Stopping", done: "Stopped", verb: "stopped" },
  hibernate: { doing: "Hibernating", done: "Hibernated", verb: "hibernated" },
  delete: { doing: "Deleting", done: "Deleted", verb: "deleted" },
};

const plural = (n: number) => `${n} session${n === 1 ? "" : "s"}`;

/** Progress while a bulk action runs and its outcome after, plus `run` to start one. */
export function useSessionBulk() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const qc = useQueryClient();
  const put = usePutSession();
  const [progress, setProgress] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);

  async function run(action: BulkAction, sessions: readonly SessionView[]) {
    const w = WORDS[action];
    setOutcome(null);
    setProgress(`${w.doing} ${plural(sessions.length)}…`);
    const r = await runBulk(
      sessions,
      async (s) => {
        if (action === "delete") {
          await client.sessions.delete.mutate({ id: s.id });
          put(s, true);
        } else {
          put(await client.sessions[action].mutate({ id: s.id }));
        }
      },
      {
        concurrency: 4,
        retryAfterMs: retryAfterOf,
        onProgress: (n, total) => setProgress(`${w.doing} ${n} of ${plural(total)}…`),
      },
    );
    setProgress(null);
    // Pages shift when rows go away; read them again rather than guess.
    await qc.invalidateQueries({ queryKey: trpc.sessions.list.queryKey() });
    const first = r.failed[0];
    setOutcome(
      first
        ? {
            ok: false,
            text: `${w.done} ${r.done.length} of ${plural(sessions.length)}; ${r.failed.length} could not be ${w.verb}. The first refusal: ${errorMessage(first.error)}`,
          }
        : { ok: true, text: `${w.done} ${plural(r.done.length)}.` },
    );
    return r;
  }

  return { run, progress, outcome, busy: progress !== null, clear: () => setOutcome(null) };
}

/** The progress line and the outcome of a bulk action, as one status area. */
export function BulkStatus({ bulk }: { bulk: ReturnType<typeof useSessionBulk> }) {
  if (bulk.progress) {
    return (
      <div className="alert alert-info" role="status">
        {bulk.progress}
      </div>
    );
  }
  if (!bulk.outcome) return null;
  return (
    <div
      className={`alert ${bulk.outcome.ok ? "alert-info alert-ok" : "alert-error"}`}
      role={bulk.outcome.ok ? "status" : "alert"}
      data-testid="bulk-outcome"
    >
      <span>{bulk.outcome.text}</span>
      <button type="button" className="btn btn-small" onClick={bulk.clear}>
        Dismiss
      </button>
    </div>
  );
}
