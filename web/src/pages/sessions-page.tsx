/**
 * My sessions, kept live by the sessions.watch subscription: every change another tab, pod or
 * agent makes lands in the query cache, so the badges move without polling.
 */
import { useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { Ago, Empty, ErrorBox, formatResources, Loading, StateBadge } from "../components/ui.tsx";
import { SessionActions, usePutSession } from "../session-actions.tsx";
import { useTRPC } from "../trpc.ts";

export function SessionsPage() {
  const trpc = useTRPC();
  const list = useQuery(trpc.sessions.list.queryOptions({ mine: true, pageSize: 100 }));
  const templates = useQuery(trpc.templates.list.queryOptions({ pageSize: 100 }));
  const put = usePutSession();
  const live = useSubscription(
    trpc.sessions.watch.subscriptionOptions(undefined, {
      onData: (change) => put(change.session, change.deleted),
      // The feed does not replay what changed before it started (or while the socket was
      // reconnecting), so the list is read again each time it goes live.
      onStarted: () => void list.refetch(),
    }),
  );
  const templateName = (id: string) =>
    templates.data?.templates.find((t) => t.id === id)?.displayName ?? "Desktop";

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>My sessions</h1>
          <p className="muted">
            <span className={`live live-${live.status}`} />{" "}
            {live.status === "pending"
              ? "Live"
              : live.status === "error"
                ? "Live updates paused"
                : "Connecting…"}
          </p>
        </div>
        <a className="btn btn-primary" href="#/launch">
          + Launch a desktop
        </a>
      </div>
      {live.status === "error" && <ErrorBox error={live.error} onRetry={() => live.reset()} />}
      {list.isPending && <Loading label="Loading your sessions…" />}
      {list.isError && <ErrorBox error={list.error} onRetry={() => void list.refetch()} />}
      {list.data && list.data.sessions.length === 0 && (
        <Empty title="No sessions yet">
          <p className="muted">Launch a desktop from a template; it opens in this page.</p>
          <a className="btn btn-primary" href="#/launch">
            Launch a desktop
          </a>
        </Empty>
      )}
      {list.data && list.data.sessions.length > 0 && (
        <div className="grid">
          {list.data.sessions.map((s) => (
            <article key={s.id} className="card session-card" data-session-id={s.id}>
              <div className="card-head">
                <div>
                  <h3>{s.displayName || templateName(s.templateId)}</h3>
                  <p className="muted small">
                    {templateName(s.templateId)} · {formatResources(s.cpuMillis, s.memoryBytes)}
                  </p>
                </div>
                <StateBadge state={s.state} />
              </div>
              {s.stateReason && <p className="reason small">{s.stateReason}</p>}
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
          ))}
        </div>
      )}
    </section>
  );
}
