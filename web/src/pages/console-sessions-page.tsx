/**
 * Every session, for operators and admins: filter by owner, agent and state, a page at a time
 * (the server pages by creation time, so a thousand sessions cost one page of rows), select
 * rows and stop, hibernate or delete them together. Each row's action goes through the same
 * procedure as the owner's own buttons, so the server's rules and audit apply to every one.
 */
import { useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useState } from "react";
import { Pager, usePageTokens } from "../components/pager.tsx";
import { Ago, Empty, ErrorBox, Loading, Reason, StateBadge } from "../components/ui.tsx";
import { type SessionView, usePutSession } from "../session-actions.tsx";
import { type BulkAction, BulkStatus, useSessionBulk } from "../session-bulk.tsx";
import { useTRPC } from "../trpc.ts";
import { FINISHED_STATES, LIVE_STATES } from "./sessions-page.tsx";

const STATES = [...LIVE_STATES, ...FINISHED_STATES];
const PAGE_SIZES = [25, 50, 100, 200, 500];

/** Which sessions each bulk action applies to; others in the selection are left alone. */
const APPLIES: Record<BulkAction, (s: SessionView) => boolean> = {
  stop: (s) => !["stopping", "stopped", "failed"].includes(s.state),
  hibernate: (s) => s.state === "running",
  delete: () => true,
};

interface Filters {
  ownerId: string;
  agentId: string;
  state: string;
}

const hashParams = () => new URLSearchParams(location.hash.split("?")[1] ?? "");

/** `#/console?size=N` picks the page size (the benchmark compares sizes through it). */
function initialPageSize(): number {
  const n = Number(hashParams().get("size"));
  return PAGE_SIZES.includes(n) ? n : 50;
}

/** `#/console?agent=ID` (the agents page links each agent's sessions) or `?user=ID`. */
function initialFilters(): Filters {
  const q = hashParams();
  return { ownerId: q.get("user") ?? "", agentId: q.get("agent") ?? "", state: "" };
}

export function ConsoleSessionsPage() {
  const trpc = useTRPC();
  const put = usePutSession();
  const pages = usePageTokens();
  const [filters, setFilters] = useState<Filters>(initialFilters);
  const [pageSize, setPageSize] = useState(initialPageSize);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const list = useQuery(
    trpc.sessions.list.queryOptions({
      ownerId: filters.ownerId,
      agentId: filters.agentId,
      states: filters.state ? [filters.state as (typeof STATES)[number]] : [],
      pageSize,
      pageToken: pages.token,
    }),
  );
  const users = useQuery(trpc.users.list.queryOptions({ pageSize: 500, pageToken: "" }));
  const agents = useQuery(trpc.agents.list.queryOptions({ pageSize: 500 }));
  const templates = useQuery(trpc.templates.list.queryOptions({ pageSize: 500 }));
  useSubscription(
    trpc.sessions.watch.subscriptionOptions(undefined, {
      onData: (c) => put(c.session, c.deleted),
      onStarted: () => void list.refetch(),
    }),
  );
  const bulk = useSessionBulk();
  const userName = (id: string) => users.data?.users.find((u) => u.id === id)?.username ?? id;
  const templateName = (id: string) =>
    templates.data?.templates.find((t) => t.id === id)?.displayName ?? "—";

  const rows = list.data?.sessions ?? [];
  const chosen = rows.filter((s) => selected.has(s.id));
  const allChosen = rows.length > 0 && chosen.length === rows.length;
  const setFilter = (patch: Partial<Filters>) => {
    setFilters({ ...filters, ...patch });
    setSelected(new Set());
    pages.reset();
  };
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (!next.delete(id)) next.add(id);
    setSelected(next);
  };
  const act = async (action: BulkAction) => {
    const targets = chosen.filter(APPLIES[action]);
    await bulk.run(action, targets);
    setSelected(new Set());
  };
  const bulkButton = (action: BulkAction, label: string, className: string) => {
    const n = chosen.filter(APPLIES[action]).length;
    return (
      <button
        type="button"
        className={`btn btn-small ${className}`}
        disabled={bulk.busy || n === 0}
        onClick={() => void act(action)}
      >
        {label} ({n})
      </button>
    );
  };

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>All sessions</h1>
          <p className="muted">Every user's sessions on every agent, newest first.</p>
        </div>
      </div>
      <div className="filters">
        <select
          aria-label="User"
          value={filters.ownerId}
          onChange={(e) => setFilter({ ownerId: e.target.value })}
        >
          <option value="">All users</option>
          {users.data?.users.map((u) => (
            <option key={u.id} value={u.id}>
              {u.username}
            </option>
          ))}
        </select>
        <select
          aria-label="Agent"
          value={filters.agentId}
          onChange={(e) => setFilter({ agentId: e.target.value })}
        >
          <option value="">All agents</option>
          {agents.data?.agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.id}
            </option>
          ))}
        </select>
        <select
          aria-label="State"
          value={filters.state}
          onChange={(e) => setFilter({ state: e.target.value })}
        >
          <option value="">All states</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select
          aria-label="Rows per page"
          value={pageSize}
          onChange={(e) => {
            setPageSize(Number(e.target.value));
            pages.reset();
          }}
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n} per page
            </option>
          ))}
        </select>
      </div>
      <div className="bulk-bar" role="toolbar" aria-label="Bulk actions">
        <span className="muted small">{chosen.length} selected</span>
        {bulkButton("stop", "Stop", "")}
        {bulkButton("hibernate", "Hibernate", "")}
        {bulkButton("delete", "Delete", "btn-danger-ghost")}
      </div>
      <BulkStatus bulk={bulk} />
      {list.isPending && <Loading label="Loading sessions…" />}
      {list.isError && <ErrorBox error={list.error} onRetry={() => void list.refetch()} />}
      {list.data && rows.length === 0 && (
        <Empty title="No sessions match">
          <p className="muted">Change the filters above to see more.</p>
        </Empty>
      )}
      {rows.length > 0 && (
        <div className="card table-card">
          <table className="table" data-testid="console-sessions">
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    aria-label="Select all on this page"
                    checked={allChosen}
                    onChange={() =>
                      setSelected(allChosen ? new Set() : new Set(rows.map((s) => s.id)))
                    }
                  />
                </th>
                <th>Session</th>
                <th>User</th>
                <th>Agent</th>
                <th>State</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.id} data-session-id={s.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${s.displayName || s.id}`}
                      checked={selected.has(s.id)}
                      onChange={() => toggle(s.id)}
                    />
                  </td>
                  <td>
                    <strong>{s.displayName || templateName(s.templateId)}</strong>
                    <div className="muted small mono">{s.id}</div>
                  </td>
                  <td className="small" data-owner={s.ownerId}>
                    {userName(s.ownerId)}
                  </td>
                  <td className="mono small">{s.agentId || "—"}</td>
                  <td>
                    <StateBadge state={s.state} />
                    <Reason state={s.state} reason={s.stateReason} />
                  </td>
                  <td className="small">
                    <Ago iso={s.createTime} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager pages={pages} nextToken={list.data?.nextPageToken ?? ""} label="Sessions" />
    </section>
  );
}
