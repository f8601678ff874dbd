/** Templates for operators and admins: what users can launch and on what it will run. */
import { useQuery } from "@tanstack/react-query";
import { Empty, ErrorBox, formatResources, Loading } from "../components/ui.tsx";
import { useTRPC } from "../trpc.ts";

export function TemplatesPage() {
  const trpc = useTRPC();
  const q = useQuery(trpc.templates.list.queryOptions({ pageSize: 500 }));
  return (
    <section>
      <div className="page-head">
        <div>
          <h1>Templates</h1>
          <p className="muted">
            What users can launch. Manage them through the TemplateService API.
          </p>
        </div>
      </div>
      {q.isPending && <Loading label="Loading templates…" />}
      {q.isError && <ErrorBox error={q.error} onRetry={() => void q.refetch()} />}
      {q.data?.templates.length === 0 && <Empty title="No templates" />}
      {q.data && q.data.templates.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Image</th>
                <th>Platform</th>
                <th>Region</th>
                <th>Size</th>
              </tr>
            </thead>
            <tbody>
              {q.data.templates.map((t) => (
                <tr key={t.id}>
                  <td>
                    <strong>{t.displayName}</strong>
                    <div className="muted small mono">{t.name}</div>
                  </td>
                  <td className="mono small">{t.image}</td>
                  <td>{t.platform || "any"}</td>
                  <td>{t.region || "any"}</td>
                  <td className="small">{formatResources(t.cpuMillis, t.memoryBytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
