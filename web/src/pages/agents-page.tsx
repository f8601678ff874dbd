/**
 * Agents for operators (read) and admins (approve, drain, revoke). The list is a live
 * subscription, so an agent that connects or drops shows up without a reload.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useState } from "react";
import { useMe } from "../app.tsx";
import { Ago, Empty, ErrorBox, Loading, StateBadge } from "../components/ui.tsx";
import { errorMessage, useTRPC } from "../trpc.ts";

export function AgentsPage() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { user } = useMe();
  const isAdmin = user.role === "admin";
  const listKey = trpc.agents.list.queryKey({ pageSize: 500 });
  const list = useQuery(trpc.agents.list.queryOptions({ pageSize: 500 }));
  useSubscription(
    trpc.agents.watch.subscriptionOptions(undefined, {
      onData: ({ agents }) => qc.setQueryData(listKey, { agents, nextPageToken: "" }),
    }),
  );
  const [credential, setCredential] = useState<{ id: string; secret: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.agents.list.queryKey() });
  const approve = useMutation(
    trpc.agents.approve.mutationOptions({
      onSuccess: (r) => {
        setCredential({ id: r.agent.id, secret: r.credential });
        refresh();
      },
      onError: setError,
    }),
  );
  const drain = useMutation(
    trpc.agents.drain.mutationOptions({ onSuccess: refresh, onError: setError }),
  );
  const revoke = useMutation(
    trpc.agents.revoke.mutationOptions({ onSuccess: refresh, onError: setError }),
  );

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>Agents</h1>
          <p className="muted">
            Machines and clusters that run sessions. They dial in; nothing dials out to them.
          </p>
        </div>
      </div>
      {error !== null && (
        <div className="alert alert-error" role="alert">
          {errorMessage(error)}
        </div>
      )}
      {credential && (
        <div className="alert alert-info" role="status">
          Credential for <strong>{credential.id}</strong> (shown once):{" "}
          <code className="mono">{credential.secret}</code>
          <button type="button" className="btn btn-small" onClick={() => setCredential(null)}>
            Done
          </button>
        </div>
      )}
      {list.isPending && <Loading label="Loading agents…" />}
      {list.isError && <ErrorBox error={list.error} onRetry={() => void list.refetch()} />}
      {list.data?.agents.length === 0 && (
        <Empty title="No agents yet">
          <p className="muted">
            Start an agent with CONTROL_PLANE_URL pointing here; it appears as pending.
          </p>
        </Empty>
      )}
      {list.data && list.data.agents.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <thead>
              <tr>
                <th>Agent</th>
                <th>State</th>
                <th>Sessions</th>
                <th>Pod</th>
                <th>Heartbeat</th>
                {isAdmin && <th aria-label="Actions" />}
              </tr>
            </thead>
            <tbody>
              {list.data.agents.map((a) => (
                <tr key={a.id} data-agent-id={a.id}>
                  <td>
                    <strong className="mono">{a.id}</strong>
                    <div className="muted small">
                      {a.platform} · {a.region || "no region"} · v{a.version || "?"}
                    </div>
                  </td>
                  <td>
                    <StateBadge state={a.state} />
                    {a.platformProblem && (
                      <div className="reason reason-problem small" role="alert">
                        Cannot start desktops: {a.platformProblem}
                      </div>
                    )}
                  </td>
                  <td>
                    <div className="meter" title={`${a.activeSessions} of ${a.maxSessions}`}>
                      <span
                        style={{
                          width: `${a.maxSessions ? (100 * a.activeSessions) / a.maxSessions : 0}%`,
                        }}
                      />
                    </div>
                    <a
                      className="small"
                      href={`#/console?agent=${encodeURIComponent(a.id)}`}
                      title="This agent's sessions"
                    >
                      {a.activeSessions} / {a.maxSessions}
                    </a>
                  </td>
                  <td className="mono small">{a.pod || "—"}</td>
                  <td className="small">
                    <Ago iso={a.lastHeartbeatTime} />
                  </td>
                  {isAdmin && (
                    <td>
                      <div className="actions">
                        {a.state === "pending" && (
                          <button
                            type="button"
                            className="btn btn-small btn-primary"
                            onClick={() => approve.mutate({ id: a.id })}
                          >
                            Approve
                          </button>
                        )}
                        {(a.state === "online" || a.state === "offline") && (
                          <button
                            type="button"
                            className="btn btn-small"
                            onClick={() => drain.mutate({ id: a.id })}
                          >
                            Drain
                          </button>
                        )}
                        {a.state !== "revoked" && (
                          <button
                            type="button"
                            className="btn btn-small btn-danger-ghost"
                            onClick={() => revoke.mutate({ id: a.id })}
                          >
                            Revoke
                          </button>
                        )}
                      </div>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
