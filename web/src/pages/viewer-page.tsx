/**
 * One session: header with live state and lifecycle buttons, and the viewer. The page follows
 * the session through the watch subscription, so it connects the moment the session runs and
 * lets go when it hibernates or stops.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useEffect, useRef } from "react";
import { ErrorBox, Loading, StateBadge, sentence } from "../components/ui.tsx";
import { SessionActions, type SessionView, usePutSession } from "../session-actions.tsx";
import { newer } from "../session-cache.ts";
import { useTRPC } from "../trpc.ts";
import { VncViewer } from "../viewer/vnc-viewer.tsx";

const WAITING: Record<string, string> = {
  pending: "Finding an agent for your desktop…",
  scheduled: "Your desktop is scheduled; starting soon…",
  starting: "Starting your desktop…",
  waking: "Waking your desktop…",
  hibernating: "Hibernating…",
  stopping: "Stopping…",
};

/** Keeps the newer snapshot when a read lands after a watch event (see session-cache.ts). */
function newerSession(old: unknown, next: unknown): unknown {
  return newer(old as SessionView | undefined, next as SessionView);
}

export function ViewerPage({ sessionId }: { sessionId: string }) {
  const trpc = useTRPC();
  const put = usePutSession();
  const q = useQuery(
    trpc.sessions.get.queryOptions(
      { id: sessionId },
      // A read that left the server before a watch event may land after it; keep the newer.
      { structuralSharing: newerSession },
    ),
  );
  useSubscription(
    trpc.sessions.watch.subscriptionOptions(
      { sessionId },
      {
        onData: (c) => put(c.session, c.deleted),
        // Changes between the first read and the subscription (or during a reconnect of the
        // socket) are not replayed, so read the session again once the feed is live.
        onStarted: () => void q.refetch(),
      },
    ),
  );
  // Opening a hibernated desktop wakes it: that is what a person opening it wants. Only the
  // state found on opening counts, so a desktop hibernated while the page is open stays asleep.
  const wake = useMutation(trpc.sessions.wake.mutationOptions({ onSuccess: (s) => put(s, false) }));
  const wakeNow = wake.mutate;
  const opened = useRef<string | undefined>(undefined);
  const state = q.data?.state;
  useEffect(() => {
    if (!state || opened.current !== undefined) return;
    opened.current = state;
    if (state === "hibernated") wakeNow({ id: sessionId });
  }, [state, sessionId, wakeNow]);
  if (q.isPending) return <Loading label="Loading the session…" />;
  if (q.isError) return <ErrorBox error={q.error} onRetry={() => void q.refetch()} />;
  const s = q.data;
  const running = s.state === "running";
  return (
    <section className="viewer-page">
      <div className="page-head compact">
        <div className="title-row">
          <a className="back" href="#/sessions" aria-label="Back to sessions">
            ←
          </a>
          <h1>{s.displayName || "Desktop"}</h1>
          <StateBadge state={s.state} />
        </div>
        <SessionActions session={s} showOpen={false} />
      </div>
      {running ? (
        <VncViewer
          sessionId={s.id}
          viewerPath={s.viewerPath}
          active={running}
          name={s.displayName || "Desktop"}
        />
      ) : (
        <div className="viewer-placeholder">
          {WAITING[s.state] ? <Loading label={WAITING[s.state]} /> : null}
          {s.state === "hibernated" && (
            <p>
              This desktop is hibernated.{" "}
              {wake.isPending ? "Waking it…" : "Wake it to continue where you left off."}
            </p>
          )}
          {(s.state === "stopped" || s.state === "failed") && (
            <p>
              This desktop is {s.state}.{s.stateReason ? ` ${sentence(s.stateReason)}` : ""} Launch
              a new one from the <a href="#/launch">templates</a>.
            </p>
          )}
        </div>
      )}
    </section>
  );
}
