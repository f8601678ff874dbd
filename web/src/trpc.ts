/**
 * tRPC client wiring: queries and mutations over HTTP batches, subscriptions over one
 * WebSocket. Both links read the token at call time from the AuthStore, so a refreshed token is
 * used at once and a reconnecting WebSocket authenticates with the newest one.
 */
import type { AppRouter } from "@streamspace/control-plane/trpc-router";
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  isTRPCClientError,
  splitLink,
  wsLink,
} from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { AuthStore } from "./auth.ts";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** ws://host or wss://host for the page's own origin (the control plane serves both). */
export function wsOrigin(): string {
  return location.origin.replace(/^http/, "ws");
}

/** A client bound to one sign-in; `close` ends its WebSocket (on sign-out). */
export function createClient(auth: AuthStore) {
  const ws = createWSClient({
    url: `${wsOrigin()}/trpc`,
    connectionParams: async () => {
      const authorization = await auth.authorization();
      return authorization ? { authorization } : {};
    },
    retryDelayMs: (attempt) => Math.min(500 * 2 ** attempt, 10_000),
    keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: wsLink({ client: ws }),
        false: httpBatchLink({
          url: "/trpc",
          maxItems: 10,
          headers: async () => {
            const authorization = await auth.authorization();
            return authorization ? { authorization } : {};
          },
        }),
      }),
    ],
  });
  return { client, close: () => ws.close() };
}

/** A sentence for a person from any error the client throws. */
export function errorMessage(err: unknown): string {
  if (isTRPCClientError(err)) {
    const issues = zodIssues(err.message);
    return issues ?? err.message;
  }
  if (err instanceof Error) return err.message;
  return "Something went wrong; try again.";
}

/** True for errors that mean the sign-in is gone (the UI then shows the login page). */
export function isUnauthorized(err: unknown): boolean {
  return isTRPCClientError(err) && err.data?.code === "UNAUTHORIZED";
}

/** The wait the server asked for when it refused a call for the request budget, else undefined. */
export function retryAfterOf(err: unknown): number | undefined {
  if (!isTRPCClientError(err) || err.data?.code !== "TOO_MANY_REQUESTS") return undefined;
  const ms = (err.data as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === "number" ? ms : 1_000;
}

// tRPC reports input-validation failures as the JSON list of zod issues; show the first one.
function zodIssues(message: string): string | null {
  if (!message.startsWith("[")) return null;
  try {
    const issues = JSON.parse(message) as Array<{ message?: string; path?: unknown[] }>;
    const first = issues[0];
    if (!first?.message) return null;
    const where = first.path?.length ? `${first.path.join(".")}: ` : "";
    return `${where}${first.message}`;
  } catch {
    return null;
  }
}
