import { WAIT } from "@streamspace/common/testing";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { CHROMIUM, ensureChromium } from "./chromium.ts";

export { ensureChromium };

/** A headless Chromium, closed by `await using`. */
export async function launchChromium(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return Object.assign(browser, {
    [Symbol.asyncDispose]: () => browser.close().catch(() => {}),
  });
}

/** A person at the browser: their own context (storage), page and console log. */
export interface Person {
  context: BrowserContext;
  page: Page;
  logs: string[];
}

/** Opens a fresh context for one person and signs in through the login page. */
export async function signIn(
  browser: Browser,
  url: string,
  username: string,
  password: string,
): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  const page = await context.newPage();
  const logs: string[] = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.setDefaultTimeout(WAIT.medium);
  await page.goto(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "My sessions" }).waitFor();
  return { context, page, logs };
}

/** An answer from either road: the HTTP status and the parsed body. */
export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

async function answer(res: Response): Promise<ApiAnswer> {
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const bearer = (token: string | undefined): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {};

/** One tRPC call over HTTP, as the browser's batch link would send it (unbatched). */
export async function trpcCall(
  url: string,
  token: string | undefined,
  kind: "query" | "mutation",
  path: string,
  input: unknown,
): Promise<ApiAnswer> {
  if (kind === "query") {
    const q = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return answer(await fetch(`${url}/trpc/${path}${q}`, { headers: bearer(token) }));
  }
  return answer(
    await fetch(`${url}/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(token) },
      body: JSON.stringify(input ?? {}),
    }),
  );
}

/** The data of a successful tRPC answer; throws with the server's words otherwise. */
export function trpcData<T>(a: ApiAnswer): T {
  if (a.status !== 200) throw new Error(`tRPC answered ${a.status}: ${JSON.stringify(a.body)}`);
  return (a.body.result as { data: T }).data;
}

/** One unary Connect call with a JSON body (what `buf curl` or a browser SDK sends). */
export async function connectCall(
  url: string,
  token: string | undefined,
  method: string,
  body: unknown,
): Promise<ApiAnswer> {
  return answer(
    await fetch(`${url}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(token) },
      body: JSON.stringify(body),
    }),
  );
}

/** Signs in over tRPC and returns the access token and user id. */
export async function apiLogin(
  url: string,
  username: string,
  password: string,
): Promise<{ token: string; userId: string }> {
  const r = trpcData<{ tokens: { accessToken: string }; user: { id: string } }>(
    await trpcCall(url, undefined, "mutation", "auth.login", { username, password }),
  );
  return { token: r.tokens.accessToken, userId: r.user.id };
}
