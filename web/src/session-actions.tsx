/**
 * Lifecycle buttons shared by the sessions list and the viewer. Which buttons show follows the
 * state machine of DESIGN.md §4; the server still guards every transition and its sentence is
 * shown when a click races another change.
 */

import type { AppRouter } from "@streamspace/control-plane/trpc-router";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import { navigate } from "./router.ts";
import { type ListFilter, matchesFilter, newer, putInList } from "./session-cache.ts";
import { errorMessage, useTRPC } from "./trpc.ts";

export type SessionView = inferRouterOutputs<AppRouter>["sessions"]["get"];

const ACTIVE = new Set([
  "pending",
  "scheduled",
  "starting",
  "running",
  "hibernating",
  "hibernated",
  "waking",
]);

/** Writes a fresh session into every cached list and its own query, so the UI moves at once. */
export function usePutSession() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  return (s: SessionView, deleted = false) => {
    type Page = { sessions: SessionView[]; nextPageToken: string };
    for (const [key, old] of qc.getQueriesData<Page>({ queryKey: trpc.sessions.list.queryKey() })) {
      if (!old) continue;
      // A list only keeps what its filter asks for: a stopped session leaves the active list.
      const filter = (key[1] as { input?: ListFilter & { pageToken?: string } } | undefined)?.input;
      const gone = deleted || !matchesFilter(filter, s);
      // A new session belongs on the first page (newest first), not on whichever page is open.
      if (!gone && filter?.pageToken && !old.sessions.some((x) => x.id === s.id)) continue;
      qc.setQueryData<Page>(key, { ...old, sessions: putInList(old.sessions, s, gone) });
    }
    if (!deleted)
      qc.setQueryData<SessionView>(trpc.sessions.get.queryKey({ id: s.id }), (old) =>
        newer(old, s),
      );
  };
}

export function SessionActions({
  session,
  showOpen = true,
}: {
  session: SessionView;
  showOpen?: boolean;
}) {
  const trpc = useTRPC();
  const put = usePutSession();
  const [error, setError] = useState<unknown>(null);
  const opts = { onSuccess: (s: SessionView) => put(s), onError: setError };
  const stop = useMutation(trpc.sessions.stop.mutationOptions(opts));
  const hibernate = useMutation(trpc.sessions.hibernate.mutationOptions(opts));
  const wake = useMutation(trpc.sessions.wake.mutationOptions(opts));
  const del = useMutation(
    trpc.sessions.delete.mutationOptions({
      onSuccess: () => put(session, true),
      onError: setError,
    }),
  );
  const busy = stop.isPending || hibernate.isPending || wake.isPending || del.isPending;
  const s = session.state;
  const id = { id: session.id };
  // Every state action clears the last error, then runs; one shape for all four buttons.
  const action = (label: string, className: string, run: () => void) => (
    <button
      type="button"
      className={className}
      disabled={busy}
      onClick={() => {
        setError(null);
        run();
      }}
    >
      {label}
    </button>
  );
  return (
    <div className="actions">
      {showOpen && s === "running" && (
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => navigate({ page: "viewer", sessionId: session.id })}
        >
          Open
        </button>
      )}
      {s === "running" && action("Hibernate", "btn", () => hibernate.mutate(id))}
      {s === "hibernated" && action("Wake", "btn btn-primary", () => wake.mutate(id))}
      {ACTIVE.has(s) && action("Stop", "btn btn-danger-ghost", () => stop.mutate(id))}
      {(s === "stopped" || s === "failed") &&
        action("Delete", "btn btn-danger-ghost", () => del.mutate(id))}
      {error !== null && (
        <span className="inline-error" role="alert">
          {errorMessage(error)}
        </span>
      )}
    </div>
  );
}
