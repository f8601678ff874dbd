/**
 * The app shell: sign-in gate, one tRPC client and query cache per sign-in (so nothing cached
 * for one user leaks to the next), the top bar, and the page for the current route.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import {
  createContext,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from "react";
import { authStore, type User } from "./auth.ts";
import { StaffOnly } from "./components/ui.tsx";
import { AgentsPage } from "./pages/agents-page.tsx";
import { ApiKeysPage } from "./pages/api-keys-page.tsx";
import { AuditPage } from "./pages/audit-page.tsx";
import { ConsoleSessionsPage } from "./pages/console-sessions-page.tsx";
import { LaunchPage } from "./pages/launch-page.tsx";
import { LoginPage } from "./pages/login-page.tsx";
import { QualityPage } from "./pages/quality-page.tsx";
import { SessionsPage } from "./pages/sessions-page.tsx";
import { TemplatesPage } from "./pages/templates-page.tsx";
import { UsersPage } from "./pages/users-page.tsx";
import { ViewerPage } from "./pages/viewer-page.tsx";
import { hrefOf, type Route, useRoute } from "./router.ts";
import { createClient, isUnauthorized, TRPCProvider } from "./trpc.ts";

interface Me {
  user: User;
  signOut: () => Promise<void>;
}

const MeContext = createContext<Me | null>(null);

/** The signed-in user; only rendered below the sign-in gate, so it is never null there. */
export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside the signed-in shell");
  return me;
}

export function App() {
  const state = useSyncExternalStore(
    (fn) => authStore.subscribe(fn),
    () => authStore.state,
  );
  if (!state) return <LoginPage onSignedIn={(s) => authStore.set(s)} />;
  return <SignedIn key={state.user.id} user={state.user} />;
}

function SignedIn({ user }: { user: User }) {
  const { client, close } = useMemo(() => createClient(authStore), []);
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            staleTime: 5_000,
            retry: (count, err) => !isUnauthorized(err) && count < 2,
          },
        },
      }),
  );
  useEffect(() => {
    // A call that still says UNAUTHORIZED after the automatic refresh means the sign-in is gone.
    const unsub = queryClient.getQueryCache().subscribe((e) => {
      if (e.type === "updated" && isUnauthorized(e.query.state.error)) {
        void authStore.forceRefresh().catch(() => {});
      }
    });
    return () => {
      unsub();
      void close();
    };
  }, [queryClient, close]);

  const me = useMemo<Me>(
    () => ({
      user,
      signOut: async () => {
        const refreshToken = authStore.state?.tokens.refreshToken ?? "";
        await client.auth.logout.mutate({ refreshToken }).catch(() => {});
        authStore.set(null);
      },
    }),
    [user, client],
  );

  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={client} queryClient={queryClient}>
        <MeContext.Provider value={me}>
          <Shell />
        </MeContext.Provider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}

function Shell() {
  const route = useRoute();
  const { user, signOut } = useMe();
  const isOperator = user.role === "operator" || user.role === "admin";
  const nav: Array<{ route: Route; label: string; show: boolean }> = [
    { route: { page: "sessions" }, label: "Sessions", show: true },
    { route: { page: "launch" }, label: "Launch", show: true },
    { route: { page: "templates" }, label: "Templates", show: isOperator },
    { route: { page: "agents" }, label: "Agents", show: isOperator },
    { route: { page: "quality" }, label: "Quality", show: isOperator },
    { route: { page: "audit" }, label: "Audit", show: user.role === "admin" },
    { route: { page: "console" }, label: "All sessions", show: isOperator },
    { route: { page: "users" }, label: "Users", show: isOperator },
    { route: { page: "api-keys" }, label: "API keys", show: true },
  ];
  const active = route.page === "viewer" ? "sessions" : route.page;
  return (
    <div className={`shell ${route.page === "viewer" ? "shell-viewer" : ""}`}>
      <header className="topbar">
        <a className="brand" href="#/sessions">
          <span className="brand-mark" aria-hidden="true" />
          StreamSpace
        </a>
        <nav className="nav">
          {nav
            .filter((n) => n.show)
            .map((n) => (
              <a
                key={n.label}
                href={hrefOf(n.route)}
                className={n.route.page === active ? "active" : undefined}
              >
                {n.label}
              </a>
            ))}
        </nav>
        <div className="user">
          <span className="avatar" aria-hidden="true">
            {user.displayName.slice(0, 1).toUpperCase()}
          </span>
          <span className="user-name">
            {user.displayName}
            <small>{user.role}</small>
          </span>
          <button type="button" className="btn btn-ghost" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main className="content">
        {route.page === "sessions" && <SessionsPage />}
        {route.page === "launch" && <LaunchPage />}
        {route.page === "viewer" && <ViewerPage sessionId={route.sessionId} />}
        {route.page === "agents" && (isOperator ? <AgentsPage /> : <StaffOnly needs="operator" />)}
        {route.page === "templates" && <TemplatesPage />}
        {route.page === "audit" &&
          (user.role === "admin" ? <AuditPage /> : <StaffOnly needs="admin" />)}
        {route.page === "console" &&
          (isOperator ? <ConsoleSessionsPage /> : <StaffOnly needs="operator" />)}
        {route.page === "users" && <UsersPage />}
        {route.page === "api-keys" && <ApiKeysPage />}
        {route.page === "quality" &&
          (isOperator ? <QualityPage /> : <StaffOnly needs="operator" />)}
      </main>
    </div>
  );
}
