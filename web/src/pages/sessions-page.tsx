/**
 * My sessions, kept live by the sessions.watch subscription: every change another tab, pod or
 * agent makes lands in the query cache, so the badges move without polling. Live sessions come
 * first, a page at a time; stopped and failed ones sit in their own section with one "Clear
 * stopped" action instead of a Delete button per card.
 */
import { useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useState } from "react";
import { Pager, usePageTokens } from "../components/pager.tsx";
import {
  Ago,
  Empty,
  ErrorBox,
  formatResources,
  Loading,
  Reason,
  StateBadge,
} from "../components/ui.tsx";
import { SessionActions, type SessionView, usePutSession } from "../session-actions.tsx";
import { BulkStatus, useSessionBulk } from "../session-bulk.tsx";
import { useTRPC, useTRPCClient } from "../trpc.ts";

/** Every state a session is in before it ends; the top section shows these. */
export const LIVE_STATES = [
  "pending",
  "scheduled",
  "starting",
  "running",
  "hibernating",
  "hibernated",
  "waking",
  "stopping",
] as const;
export const FINISHED_STATES = ["stopped", "failed"] as const;
/** Cards per page: enough to fill a wide screen, few enough to render at once. */
const LIVE_PAGE = 24;
const FINISHED_PAGE = 12;

export function SessionsPage() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const livePages = usePageTokens();
  const finishedPages = usePageTokens();
  const live = useQuery(
    trpc.sessions.list.queryOptions({
      mine: true,
      states: [...LIVE_STATES],
      pageSize: LIVE_PAGE,
      pageToken: livePages.token,
    }),
  );
  const finished = useQuery(
    trpc.sessions.list.queryOptions({
      mine: true,
      states: [...FINISHED_STATES],
      pageSize: FINISHED_PAGE,
      pageToken: finishedPages.token,
    }),
  );
  const templates = useQuery(trpc.templates.list.queryOptions({ pageSize: 100 }));
  const put = usePutSession();
  const bulk = useSessionBulk();
  const [collecting, setCollecting] = useState(false);
  const feed = useSubscription(
    trpc.sessions.watch.subscriptionOptions(undefined, {
      onData: (change) => put(change.session, change.deleted),
      // The feed does not replay what changed before it started (or while the socket was
      // reconnecting), so the lists are read again each time it goes live.
      onStarted: () => {
        void live.refetch();
        void finished.refetch();
      },
    }),
  );
  const templateName = (id: string) =>
    templates.data?.templates.find((t) => t.id === id)?.displayName ?? "Desktop";

  /** Every stopped or failed session of mine, across pages, then one delete each. */
  const clearStopped = async () => {
    setCollecting(true);
    const all: SessionView[] = [];
    try {
      let pageToken = "";
      do {
        const page = await client.sessions.list.query({
          mine: true,
          states: [...FINISHED_STATES],
          pageSize: 500,
          pageToken,
        });
        all.push(...page.sessions);
        pageToken = page.nextPageToken;
      } while (pageToken);
    } finally {
      setCollecting(false);
    }
    finishedPages.reset();
    await bulk.run("delete", all);
  };

  const noLive = live.data?.sessions.length === 0 && livePages.index === 0;
  const finishedCount = finished.data?.sessions.length ?? 0;
  return (
    <section>
      <div className="page-head">
        <div>
          <h1>My sessions</h1>
          <p className="muted">
            <span className={`live live-${feed.status}`} />{" "}
            {feed.status === "pending"
              ? "Live"
              : feed.status === "error"
                ? "Live updates paused"
                : "Connecting…"}
          </p>
        </div>
        <a className="btn btn-primary" href="#/launch">
          + Launch a desktop
        </a>
      </div>
      {feed.status === "error" && <ErrorBox error={feed.error} onRetry={() => feed.reset()} />}
      <BulkStatus bulk={bulk} />
      {live.isPending && <Loading label="Loading your sessions…" />}
      {live.isError && <ErrorBox error={live.error} onRetry={() => void live.refetch()} />}
      {noLive && (
        <Empty title="No desktops running">
          <p className="muted">Launch a desktop from a template; it opens in this page.</p>
          <a className="btn btn-primary" href="#/launch">
            Launch a desktop
          </a>
        </Empty>
      )}
      {live.data && live.data.sessions.length > 0 && (
        <div className="grid" data-testid="live-sessions">
          {live.data.sessions.map((s) => (
            <SessionCard key={s.id} session={s} templateName={templateName(s.templateId)} />
          ))}
        </div>
      )}
      <Pager pages={livePages} nextToken={live.data?.nextPageToken ?? ""} label="Live sessions" />

      {(finishedCount > 0 || finishedPages.index > 0) && (
        <>
          <div className="section-head">
            <h2>Stopped and failed</h2>
            <button
              type="button"
              className="btn btn-danger-ghost"
              disabled={bulk.busy || collecting}
              onClick={() => void clearStopped()}
            >
              {collecting ? "Finding stopped sessions…" : "Clear stopped"}
            </button>
          </div>
          {finished.isError && (
            <ErrorBox error={finished.error} onRetry={() => void finished.refetch()} />
          )}
          <div className="grid" data-testid="finished-sessions">
            {finished.data?.sessions.map((s) => (
              <SessionCard key={s.id} session={s} templateName={templateName(s.templateId)} />
            ))}
          </div>
          <Pager
            pages={finishedPages}
            nextToken={finished.data?.nextPageToken ?? ""}
            label="Stopped sessions"
          />
        </>
      )}
    </section>
  );
}

/** One session: title, what it is (never the title again), state, why, when, actions. */
function SessionCard({ session: s, templateName }: { session: SessionView; templateName: string }) {
  const title = s.displayName || templateName;
  const subtitle = [
    title === templateName ? "" : templateName,
    formatResources(s.cpuMillis, s.memoryBytes),
  ]
    .filter(Boolean)
    .join(" · ");
  return (
    <article className="card session-card" data-session-id={s.id}>
      <div className="card-head">
        <div>
          <h3>{title}</h3>
          <p className="muted small">{subtitle}</p>
        </div>
        <StateBadge state={s.state} />
      </div>
      <Reason state={s.state} reason={s.stateReason} />
      <dl className="meta small">
        <dt>Created</dt>
        <dd>
          <Ago iso={s.createTime} />
        </dd>
        <dt>Updated</dt>
        <dd>
          <Ago iso={s.updateTime} />
        </dd>
      </dl>
      <SessionActions session={s} />
    </article>
  );
}
