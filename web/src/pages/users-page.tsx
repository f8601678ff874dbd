/**
 * People, for staff. Operators read the list (to know whose sessions they look at); admins
 * create users, disable and enable them, change roles and reset passwords. Every refusal is
 * the server's sentence: the last enabled admin cannot be disabled or demoted, say.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useMe } from "../app.tsx";
import { Pager, usePageTokens } from "../components/pager.tsx";
import { Ago, ErrorBox, Loading, StaffOnly } from "../components/ui.tsx";
import { errorMessage, useTRPC } from "../trpc.ts";

type Role = "user" | "operator" | "admin";
const ROLES: Role[] = ["user", "operator", "admin"];

export function UsersPage() {
  const { user: me } = useMe();
  if (me.role === "user") return <StaffOnly needs="operator" />;
  return <Users isAdmin={me.role === "admin"} />;
}

function Users({ isAdmin }: { isAdmin: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const pages = usePageTokens();
  const list = useQuery(trpc.users.list.queryOptions({ pageSize: 100, pageToken: pages.token }));
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [resetFor, setResetFor] = useState<string | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
  const done = (text: string) => () => {
    setError(null);
    setNotice(text);
    refresh();
  };
  const fail = (e: unknown) => {
    setNotice(null);
    setError(e);
  };
  const disable = useMutation(
    trpc.users.disable.mutationOptions({
      onSuccess: (u) => done(`${u.username} is disabled and signed out everywhere.`)(),
      onError: fail,
    }),
  );
  const enable = useMutation(
    trpc.users.enable.mutationOptions({
      onSuccess: (u) => done(`${u.username} can sign in again.`)(),
      onError: fail,
    }),
  );
  const setRole = useMutation(
    trpc.users.setRole.mutationOptions({
      onSuccess: (u) => done(`${u.username} is now ${article(u.role)} ${u.role}.`)(),
      onError: fail,
    }),
  );

  return (
    <section>
      <div className="page-head">
        <div>
          <h1>Users</h1>
          <p className="muted">
            {isAdmin
              ? "Who can sign in, and with which role."
              : "Who can sign in. Only admins change users."}
          </p>
        </div>
      </div>
      {isAdmin && <CreateUser onCreated={(name) => done(`Created ${name}.`)()} />}
      {notice && (
        <div className="alert alert-info alert-ok" role="status">
          {notice}
        </div>
      )}
      {error !== null && <ErrorBox error={error} />}
      {list.isPending && <Loading label="Loading users…" />}
      {list.isError && <ErrorBox error={list.error} onRetry={() => void list.refetch()} />}
      {list.data && (
        <div className="card table-card">
          <table className="table" data-testid="users">
            <thead>
              <tr>
                <th>User</th>
                <th>Role</th>
                <th>Status</th>
                <th>Created</th>
                {isAdmin && <th aria-label="Actions" />}
              </tr>
            </thead>
            <tbody>
              {list.data.users.map((u) => (
                <tr key={u.id} data-user={u.username}>
                  <td>
                    <strong>{u.username}</strong>
                    {u.displayName !== u.username && (
                      <div className="muted small">{u.displayName}</div>
                    )}
                  </td>
                  <td>
                    {isAdmin ? (
                      <select
                        aria-label={`Role of ${u.username}`}
                        value={u.role}
                        onChange={(e) => setRole.mutate({ id: u.id, role: e.target.value as Role })}
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      u.role
                    )}
                  </td>
                  <td>
                    <span className={`badge ${u.disabled ? "badge-idle" : "badge-ok"}`}>
                      {u.disabled ? "disabled" : "active"}
                    </span>
                  </td>
                  <td className="small">
                    <Ago iso={u.createTime} />
                  </td>
                  {isAdmin && (
                    <td>
                      <div className="actions">
                        {u.disabled ? (
                          <button
                            type="button"
                            className="btn btn-small"
                            onClick={() => enable.mutate({ id: u.id })}
                          >
                            Enable
                          </button>
                        ) : (
                          <button
                            type="button"
                            className="btn btn-small btn-danger-ghost"
                            onClick={() => disable.mutate({ id: u.id })}
                          >
                            Disable
                          </button>
                        )}
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => setResetFor(resetFor === u.id ? null : u.id)}
                        >
                          Reset password
                        </button>
                        {resetFor === u.id && (
                          <ResetPassword
                            id={u.id}
                            username={u.username}
                            onDone={(text) => {
                              setResetFor(null);
                              done(text)();
                            }}
                          />
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
      <Pager pages={pages} nextToken={list.data?.nextPageToken ?? ""} label="Users" />
    </section>
  );
}

const article = (role: string) => (role === "admin" || role === "operator" ? "an" : "a");

function CreateUser({ onCreated }: { onCreated: (username: string) => void }) {
  const trpc = useTRPC();
  const [form, setForm] = useState({ username: "", displayName: "", password: "", role: "user" });
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: (u) => {
        setForm({ username: "", displayName: "", password: "", role: "user" });
        onCreated(u.username);
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ ...form, role: form.role as Role });
  };
  const input = (name: keyof typeof form, label: string, type = "text") => (
    <label>
      {label}
      <input
        type={type}
        value={form[name]}
        autoComplete="off"
        onChange={(e) => setForm({ ...form, [name]: e.target.value })}
      />
    </label>
  );
  return (
    <form className="card" onSubmit={submit} aria-label="New user">
      <h3>New user</h3>
      <div className="form-grid">
        {input("username", "Username")}
        {input("displayName", "Display name")}
        {input("password", "Password", "password")}
        <label>
          Role
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
      </div>
      {create.isError && <ErrorBox error={create.error} />}
      <button type="submit" className="btn btn-primary" disabled={create.isPending}>
        Create user
      </button>
    </form>
  );
}

function ResetPassword(props: { id: string; username: string; onDone: (text: string) => void }) {
  const trpc = useTRPC();
  const [password, setPassword] = useState("");
  const reset = useMutation(
    trpc.users.resetPassword.mutationOptions({
      onSuccess: () =>
        props.onDone(`${props.username} has a new password and was signed out everywhere.`),
    }),
  );
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        reset.mutate({ id: props.id, password });
      }}
    >
      <input
        type="password"
        aria-label={`New password for ${props.username}`}
        placeholder="New password"
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <button type="submit" className="btn btn-small btn-primary" disabled={reset.isPending}>
        Set password
      </button>
      {reset.isError && (
        <span className="inline-error" role="alert">
          {errorMessage(reset.error)}
        </span>
      )}
    </form>
  );
}
