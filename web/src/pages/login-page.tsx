/**
 * Sign-in. Uses its own HTTP-only tRPC client: there is no token yet, so nothing else (the
 * WebSocket, the query cache) is built until the server has said who this is.
 */
import type { AppRouter } from "@streamspace/control-plane/trpc-router";
import { createTRPCClient, httpLink } from "@trpc/client";
import { type FormEvent, useEffect, useRef, useState } from "react";
import type { Tokens, User } from "../auth.ts";
import { errorMessage } from "../trpc.ts";

const anonymous = createTRPCClient<AppRouter>({ links: [httpLink({ url: "/trpc" })] });

export function LoginPage({
  onSignedIn,
}: {
  onSignedIn: (s: { tokens: Tokens; user: User }) => void;
}) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const first = useRef<HTMLInputElement>(null);
  // The only thing to do on this page is type a name, so the cursor starts there.
  useEffect(() => first.current?.focus(), []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await anonymous.auth.login.mutate({ username: username.trim(), password }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <div className="login-wrap">
      <form className="card login-card" onSubmit={submit} aria-label="Sign in">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          StreamSpace
        </div>
        <p className="muted">Desktops in your browser. Sign in to launch one.</p>
        <label className="field">
          <span>Username</span>
          <input
            ref={first}
            name="username"
            autoComplete="username"
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error !== null && (
          <div className="alert alert-error" role="alert">
            {errorMessage(error)}
          </div>
        )}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
