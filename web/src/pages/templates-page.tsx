/**
 * Templates for operators and admins: what users can launch and on what it will run. Staff
 * create templates, edit every field, and retire the ones nobody should launch any more
 * (sessions already running from a retired template keep running).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useMe } from "../app.tsx";
import { TemplateForm, type TemplateView } from "../components/template-form.tsx";
import { Empty, ErrorBox, formatResources, Loading, StaffOnly } from "../components/ui.tsx";
import { useTRPC } from "../trpc.ts";

export function TemplatesPage() {
  const { user } = useMe();
  if (user.role === "user") return <StaffOnly needs="operator" />;
  return <Templates />;
}

function Templates() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const q = useQuery(trpc.templates.list.queryOptions({ pageSize: 500 }));
  // "new", a template id being edited, or nothing open.
  const [open, setOpen] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.templates.list.queryKey() });
  const finish = (text: string) => {
    setOpen(null);
    setNotice(text);
    refresh();
  };
  const create = useMutation(
    trpc.templates.create.mutationOptions({
      onSuccess: (t) => finish(`Created ${t.displayName}; users can launch it now.`),
    }),
  );
  const update = useMutation(
    trpc.templates.update.mutationOptions({
      onSuccess: (t) => finish(`Saved ${t.displayName}.`),
    }),
  );
  const retire = useMutation(
    trpc.templates.delete.mutationOptions({
      onSuccess: (_r, v) =>
        finish(`Retired ${v.id}. Sessions launched from it keep running until they stop.`),
    }),
  );
  const editing = q.data?.templates.find((t: TemplateView) => t.id === open);

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>Templates</h1>
          <p className="muted">What users can launch, and where it runs.</p>
        </div>
        {open === null && (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => {
              create.reset();
              setNotice(null);
              setOpen("new");
            }}
          >
            + New template
          </button>
        )}
      </div>
      {notice && (
        <div className="alert alert-info alert-ok" role="status">
          {notice}
        </div>
      )}
      {retire.isError && <ErrorBox error={retire.error} />}
      {open === "new" && (
        <TemplateForm
          busy={create.isPending}
          error={create.error}
          onSubmit={(t) => create.mutate(t)}
          onCancel={() => setOpen(null)}
        />
      )}
      {editing && (
        <TemplateForm
          key={editing.id}
          template={editing}
          busy={update.isPending}
          error={update.error}
          onSubmit={(t) => update.mutate({ ...t, id: editing.id })}
          onCancel={() => setOpen(null)}
        />
      )}
      {q.isPending && <Loading label="Loading templates…" />}
      {q.isError && <ErrorBox error={q.error} onRetry={() => void q.refetch()} />}
      {q.data?.templates.length === 0 && <Empty title="No templates" />}
      {q.data && q.data.templates.length > 0 && (
        <div className="card table-card">
          <table className="table" data-testid="templates">
            <thead>
              <tr>
                <th>Name</th>
                <th>Image</th>
                <th>Platform</th>
                <th>Region</th>
                <th>Size</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {q.data.templates.map((t) => (
                <tr key={t.id} data-template-row={t.name}>
                  <td>
                    <strong>{t.displayName}</strong>
                    <div className="muted small mono">{t.name}</div>
                  </td>
                  <td className="mono small">{t.image}</td>
                  <td>{t.platform || "any"}</td>
                  <td>{t.region || "any"}</td>
                  <td className="small">{formatResources(t.cpuMillis, t.memoryBytes)}</td>
                  <td>
                    <div className="actions">
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => {
                          update.reset();
                          setNotice(null);
                          setOpen(t.id);
                        }}
                      >
                        Edit
                      </button>
                      <button
                        type="button"
                        className="btn btn-small btn-danger-ghost"
                        disabled={retire.isPending}
                        onClick={() => retire.mutate({ id: t.name })}
                      >
                        Retire
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
