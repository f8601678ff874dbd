/**
 * Launch from a template. Creating returns at once with a pending session; the viewer page
 * then follows it live to running and connects, so the user never refreshes anything.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Empty, ErrorBox, formatResources, Loading } from "../components/ui.tsx";
import { navigate } from "../router.ts";
import { usePutSession } from "../session-actions.tsx";
import { useTRPC } from "../trpc.ts";

export function LaunchPage() {
  const trpc = useTRPC();
  const put = usePutSession();
  const templates = useQuery(trpc.templates.list.queryOptions({ pageSize: 100 }));
  const [chosen, setChosen] = useState<string | null>(null);
  const create = useMutation(
    trpc.sessions.create.mutationOptions({
      onSuccess: (s) => {
        put(s);
        navigate({ page: "viewer", sessionId: s.id });
      },
    }),
  );

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>Launch a desktop</h1>
          <p className="muted">Pick a template. The desktop opens here as soon as it runs.</p>
        </div>
      </div>
      {create.isError && <ErrorBox error={create.error} />}
      {templates.isPending && <Loading label="Loading templates…" />}
      {templates.isError && (
        <ErrorBox error={templates.error} onRetry={() => void templates.refetch()} />
      )}
      {templates.data?.templates.length === 0 && (
        <Empty title="No templates yet">
          <p className="muted">An operator has to add a template before anyone can launch.</p>
        </Empty>
      )}
      <div className="grid">
        {templates.data?.templates.map((t) => (
          <article key={t.id} className="card template-card" data-template={t.name}>
            <div className="template-icon" aria-hidden="true">
              {t.displayName.slice(0, 1).toUpperCase()}
            </div>
            <h3>{t.displayName}</h3>
            <p className="muted small">{t.description || t.image}</p>
            <p className="small tags">
              <span className="tag">{t.platform || "any platform"}</span>
              {t.region && <span className="tag">{t.region}</span>}
              <span className="tag">{formatResources(t.cpuMillis, t.memoryBytes)}</span>
              {t.persistentHome && <span className="tag">persistent home</span>}
            </p>
            <button
              type="button"
              className="btn btn-primary btn-block"
              disabled={create.isPending}
              onClick={() => {
                setChosen(t.id);
                create.mutate({ template: t.name });
              }}
            >
              {create.isPending && chosen === t.id ? "Launching…" : "Launch"}
            </button>
          </article>
        ))}
      </div>
    </section>
  );
}
