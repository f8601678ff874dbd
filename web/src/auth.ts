/**
 * The browser's credentials. Tokens live in localStorage so a reload keeps the user signed in;
 * the access token (15 min) is refreshed shortly before it expires, once even when many calls
 * ask at the same moment, because the server treats a reused refresh token as theft and
 * revokes the whole sign-in.
 */

import type { AppRouter } from "@streamspace/control-plane/trpc-router";
import type { inferRouterOutputs } from "@trpc/server";

type Outputs = inferRouterOutputs<AppRouter>;
/** Tokens and user exactly as the server's login returns them. */
export type Tokens = Outputs["auth"]["refresh"];
export type User = Outputs["auth"]["login"]["user"];

const KEY = "streamspace.auth";
/** Refresh this long before the access token's expiry, to absorb clock skew and latency. */
const REFRESH_MARGIN_MS = 60_000;

interface Stored {
  tokens: Tokens;
  user: User;
}

type Listener = (s: Stored | null) => void;

/** Calls /trpc/auth.refresh directly, so refreshing never goes through the links it feeds. */
async function callRefresh(refreshToken: string): Promise<Tokens> {
  const res = await fetch("/trpc/auth.refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refreshToken }),
  });
  const body = (await res.json().catch(() => null)) as {
    result?: { data?: Tokens };
    error?: { message?: string };
  } | null;
  if (!res.ok || !body?.result?.data) {
    throw new Error(body?.error?.message ?? `Refreshing the sign-in failed (${res.status}).`);
  }
  return body.result.data;
}

/** Single source of truth for the signed-in user, observable by React. */
export class AuthStore {
  #state: Stored | null;
  #listeners = new Set<Listener>();
  #refreshing: Promise<string> | null = null;

  constructor(private readonly storage: Storage = localStorage) {
    this.#state = AuthStore.#read(storage);
  }

  static #read(storage: Storage): Stored | null {
    try {
      const raw = storage.getItem(KEY);
      if (!raw) return null;
      const s = JSON.parse(raw) as Stored;
      if (Date.parse(s.tokens.refreshExpireTime) <= Date.now()) return null;
      return s;
    } catch {
      return null;
    }
  }

  get state(): Stored | null {
    return this.#state;
  }

  subscribe(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  set(s: Stored | null): void {
    this.#state = s;
    if (s) this.storage.setItem(KEY, JSON.stringify(s));
    else this.storage.removeItem(KEY);
    for (const fn of this.#listeners) fn(s);
  }

  /** A valid access token, refreshed if it is about to expire; null when signed out. */
  async accessToken(): Promise<string | null> {
    const s = this.#state;
    if (!s) return null;
    if (Date.parse(s.tokens.accessExpireTime) - Date.now() > REFRESH_MARGIN_MS) {
      return s.tokens.accessToken;
    }
    return this.forceRefresh();
  }

  /** Refreshes now (single flight); signs out when the refresh token is no longer good. */
  async forceRefresh(): Promise<string | null> {
    const s = this.#state;
    if (!s) return null;
    this.#refreshing ??= callRefresh(s.tokens.refreshToken)
      .then((tokens) => {
        if (this.#state) this.set({ ...this.#state, tokens });
        return tokens.accessToken;
      })
      .catch((err: unknown) => {
        this.set(null);
        throw err;
      })
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  /** The `authorization` header value, or undefined when signed out. */
  async authorization(): Promise<string | undefined> {
    const token = await this.accessToken().catch(() => null);
    return token ? `Bearer ${token}` : undefined;
  }
}

export const authStore = new AuthStore();
