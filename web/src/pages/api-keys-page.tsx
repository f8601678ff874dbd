/**
 * API keys for scripts and SDKs. Everyone manages their own (create, see when each was last
 * used, revoke); admins also pick any user and revoke that user's keys, e.g. after a leak.
 * A new key's secret is shown once, right after it is made: only its hash is stored.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useMe } from "../app.tsx";
import { Ago, Empty, ErrorBox, Loading } from "../components/ui.tsx";
import { errorMessage, useTRPC } from "../trpc.ts";

/** Lifetimes offered in the form, in seconds (0 = never expires). */
const TTLS: Array<[number, string]> = [
  [0, "Never expires"],
  [86400, "1 day"],
  [30 * 86400, "30 days"],
  [365 * 86400, "1 year"],
];

export function ApiKeysPage() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { user: me } = useMe();
  const isAdmin = me.role === "admin";
  const [owner, setOwner] = useState("");
  const users = useQuery({
    ...trpc.users.list.queryOptions({ pageSize: 500, pageToken: "" }),
    enabled: isAdmin,
  });
  const list = useQuery(trpc.apiKeys.list.queryOptions({ userId: owner }));
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.apiKeys.list.queryKey() });
  const revoke = useMutation(
    trpc.apiKeys.revoke.mutationOptions({
      onSuccess: () => {
        setError(null);
        refresh();
      },
      onError: setError,
    }),
  );
  const mine = owner === "" || owner === me.id;
  const ownerName = users.data?.users.find((u) => u.id === owner)?.username ?? "this user";

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>API keys</h1>
          <p className="muted">
            Keys let scripts and SDKs act as you. A key cannot create other keys.
          </p>
        </div>
      </div>
      {isAdmin && (
        <div className="filters">
          <select
            aria-label="Whose keys"
            value={owner}
            onChange={(e) => {
              setOwner(e.target.value);
              setSecret(null);
            }}
          >
            <option value="">My keys</option>
            {users.data?.users
              .filter((u) => u.id !== me.id)
              .map((u) => (
                <option key={u.id} value={u.id}>
                  {u.username}
                </option>
              ))}
          </select>
        </div>
      )}
      {mine && (
        <CreateKey
          onCreated={(name, s) => {
            setSecret({ name, secret: s });
            refresh();
          }}
        />
      )}
      {secret && (
        <div className="alert alert-info" role="status" data-testid="new-key">
          <span>
            The key <strong>{secret.name}</strong> was created. Copy it now; it is not shown again:{" "}
            <code className="mono secret">{secret.secret}</code>
          </span>
          <button type="button" className="btn btn-small" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      {error !== null && <ErrorBox error={error} />}
      {list.isPending && <Loading label="Loading keys…" />}
      {list.isError && <ErrorBox error={list.error} onRetry={() => void list.refetch()} />}
      {list.data?.apiKeys.length === 0 && (
        <Empty title={mine ? "You have no API keys" : `${ownerName} has no API keys`} />
      )}
      {list.data && list.data.apiKeys.length > 0 && (
        <div className="card table-card">
          <table className="table" data-testid="api-keys">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Created</th>
                <th>Expires</th>
                <th>Last used</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {list.data.apiKeys.map((k) => (
                <tr key={k.id} data-key={k.name}>
                  <td>
                    <strong>{k.name}</strong>
                  </td>
                  <td className="mono small">{k.prefix}…</td>
                  <td className="small">
                    <Ago iso={k.createTime} />
                  </td>
                  <td className="small">
                    {k.expireTime ? new Date(k.expireTime).toLocaleDateString() : "never"}
                  </td>
                  <td className="small">
                    <Ago iso={k.lastUsedTime} />
                  </td>
                  <td>
                    <div className="actions">
                      <button
                        type="button"
                        className="btn btn-small btn-danger-ghost"
                        disabled={revoke.isPending}
                        onClick={() => revoke.mutate({ id: k.id })}
                      >
                        Revoke
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

function CreateKey({ onCreated }: { onCreated: (name: string, secret: string) => void }) {
  const trpc = useTRPC();
  const [name, setName] = useState("");
  const [ttl, setTtl] = useState(0);
  const create = useMutation(
    trpc.apiKeys.create.mutationOptions({
      onSuccess: (r) => {
        setName("");
        onCreated(r.apiKey.name, r.secret);
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name, ttl });
  };
  return (
    <form className="inline-form card" onSubmit={submit} aria-label="New API key">
      <input
        aria-label="Key name"
        placeholder="Name, e.g. ci-pipeline"
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <select aria-label="Lifetime" value={ttl} onChange={(e) => setTtl(Number(e.target.value))}>
        {TTLS.map(([s, label]) => (
          <option key={s} value={s}>
            {label}
          </option>
        ))}
      </select>
      <button type="submit" className="btn btn-primary" disabled={create.isPending}>
        Create key
      </button>
      {create.isError && (
        <span className="inline-error" role="alert">
          {errorMessage(create.error)}
        </span>
      )}
    </form>
  );
}
