/**
 * The audit log for admins: every state-changing call, newest first, with who made it, from
 * where, what it was about and how it ended. Filters narrow by actor, action or target; pages
 * load on demand (the log only grows, so "older" is the one direction).
 */
import { useQueries } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Ago, Empty, ErrorBox, Loading } from "../components/ui.tsx";
import { useTRPC } from "../trpc.ts";

interface Filters {
  actorId: string;
  action: string;
  targetId: string;
}

const NONE: Filters = { actorId: "", action: "", targetId: "" };

export function AuditPage() {
  const trpc = useTRPC();
  const [filters, setFilters] = useState<Filters>(NONE);
  const [draft, setDraft] = useState<Filters>(NONE);
  // One query per page loaded so far; "Older entries" adds the next page's token.
  const [tokens, setTokens] = useState<string[]>([""]);
  const pages = useQueries({
    queries: tokens.map((pageToken) =>
      trpc.audit.list.queryOptions({ ...filters, pageSize: 100, pageToken }),
    ),
  });
  const first = pages[0];
  const last = pages[pages.length - 1];
  const events = pages.flatMap((p) => p.data?.events ?? []);
  const next = last?.data?.nextPageToken ?? "";
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
    setTokens([""]);
  };
  const field = (name: keyof Filters, placeholder: string) => (
    <input
      aria-label={placeholder}
      placeholder={placeholder}
      value={draft[name]}
      onChange={(e) => setDraft({ ...draft, [name]: e.target.value.trim() })}
    />
  );

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>Audit log</h1>
          <p className="muted">Every call that changed something, allowed or refused.</p>
        </div>
      </div>
      <form className="filters" onSubmit={apply}>
        {field("actorId", "Actor (user id)")}
        {field("action", "Action, e.g. session.stop")}
        {field("targetId", "Target id or name")}
        <button type="submit" className="btn">
          Filter
        </button>
      </form>
      {first?.isPending && <Loading label="Loading the audit log…" />}
      {last?.isError && <ErrorBox error={last.error} onRetry={() => void last.refetch()} />}
      {first?.data && events.length === 0 && <Empty title="Nothing recorded yet" />}
      {events.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Target</th>
                <th>From</th>
                <th>Outcome</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} data-audit-id={e.id}>
                  <td className="small" title={e.time}>
                    <Ago iso={e.time} />
                  </td>
                  <td className="mono small">{e.actorId || "anonymous"}</td>
                  <td className="mono">{e.action}</td>
                  <td className="small">
                    {e.targetKind} <span className="mono">{e.targetId || "—"}</span>
                  </td>
                  <td className="small" title={`request ${e.requestId}`}>
                    {e.source || "—"} · {e.transport}
                  </td>
                  <td className="small" title={e.message}>
                    <span className={e.outcome === "ok" ? "badge badge-ok" : "badge badge-bad"}>
                      {e.outcome}
                    </span>
                    {e.message && <div className="muted small">{e.message}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && !tokens.includes(next) && (
        <button type="button" className="btn" onClick={() => setTokens([...tokens, next])}>
          Older entries
        </button>
      )}
      {last?.isFetching && tokens.length > 1 && <Loading label="Loading older entries…" />}
    </section>
  );
}
