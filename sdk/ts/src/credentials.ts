/**
 * What the client sends as `authorization`: an API key (never expires on its own) or an
 * access/refresh pair from Login. Access tokens live 15 minutes and refresh tokens are single
 * use (a reused one revokes the whole sign-in), so refreshes are serialised: every call that
 * finds the token about to expire waits on the same refresh instead of starting its own.
 */
import { Code } from "@connectrpc/connect";
import { StreamSpaceError } from "./errors.ts";

/** An access/refresh pair with the instants each expires at. */
export interface TokenSet {
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

/** Exchanges a refresh token for a new pair (AuthService.Refresh). */
export type RefreshFn = (refreshToken: string) => Promise<TokenSet>;

export interface CredentialOptions {
  refresh: RefreshFn;
  /** Refresh when the access token expires within this many milliseconds (default 60 s). */
  refreshBeforeMs?: number;
  /** Told about every new pair (and `undefined` on sign-out), e.g. to persist it. */
  onTokens?: (tokens: TokenSet | undefined) => void;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
}

/** Holds the current credential and keeps an access token fresh. */
export class Credentials {
  #apiKey: string | undefined;
  #tokens: TokenSet | undefined;
  #refreshing: Promise<TokenSet> | undefined;
  readonly #opts: CredentialOptions;
  readonly #now: () => number;

  constructor(opts: CredentialOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get tokens(): TokenSet | undefined {
    return this.#tokens;
  }

  get apiKey(): string | undefined {
    return this.#apiKey;
  }

  useApiKey(key: string): void {
    if (!key.trim()) throw new TypeError("An API key is required (it starts with ssk_).");
    this.#apiKey = key.trim();
    this.#setTokens(undefined);
  }

  useTokens(tokens: TokenSet): void {
    this.#apiKey = undefined;
    this.#setTokens(tokens);
  }

  clear(): void {
    this.#apiKey = undefined;
    this.#setTokens(undefined);
  }

  /** The header value for the next call, refreshing first when the token is about to expire. */
  async authorization(): Promise<string | undefined> {
    if (this.#apiKey) return `Bearer ${this.#apiKey}`;
    const t = this.#tokens;
    if (!t) return undefined;
    const margin = this.#opts.refreshBeforeMs ?? 60_000;
    if (t.accessExpiresAt.getTime() - this.#now() > margin) return `Bearer ${t.accessToken}`;
    return `Bearer ${(await this.#refresh(t)).accessToken}`;
  }

  /**
   * After the server refused `sent` as unauthenticated: refresh once if that token is still the
   * current one (another call may have refreshed already). True when a retry may succeed.
   */
  async recover(sent: string): Promise<boolean> {
    const t = this.#tokens;
    if (!t || this.#apiKey) return false;
    if (`Bearer ${t.accessToken}` !== sent) return true;
    await this.#refresh(t);
    return true;
  }

  /** Refreshes now (a stream was refused); false with an API key or before sign-in. */
  async refreshNow(): Promise<boolean> {
    const t = this.#tokens;
    if (!t || this.#apiKey) return false;
    await this.#refresh(t);
    return true;
  }

  #refresh(from: TokenSet): Promise<TokenSet> {
    if (this.#refreshing) return this.#refreshing;
    if (from.refreshExpiresAt.getTime() <= this.#now()) {
      return Promise.reject(
        new StreamSpaceError(
          "The sign-in has expired (its refresh token is past its expiry); sign in again.",
          Code.Unauthenticated,
        ),
      );
    }
    this.#refreshing = this.#opts
      .refresh(from.refreshToken)
      .then((next) => {
        // A sign-out or a new sign-in during the refresh wins over its result.
        if (this.#tokens === from) this.#setTokens(next);
        return next;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  #setTokens(tokens: TokenSet | undefined): void {
    const changed = this.#tokens !== tokens;
    this.#tokens = tokens;
    if (changed) this.#opts.onTokens?.(tokens);
  }
}
