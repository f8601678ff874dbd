/**
 * The few API calls the test bed makes itself (readiness, its fake node, the storage class,
 * namespaces, service-account tokens), over node:https with the bed's admin certificate. The
 * bed needs no client library: its callers bring their own (the agent uses
 * @kubernetes/client-node), and the bed stays usable from plain scripts.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";

/** Where the API server is and how the bed's admin proves who it is. */
export interface AdminCredentials {
  server: string;
  caCert: string;
  adminCert: string;
  adminKey: string;
}

/** An answer of the API server: status and parsed JSON body (or the raw text). */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** One call; never throws for an HTTP status, only for a transport failure. */
export function apiCall(
  creds: AdminCredentials,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<ApiAnswer> {
  const url = new URL(path, creds.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: readFileSync(creds.caCert),
        cert: readFileSync(creds.adminCert),
        key: readFileSync(creds.adminKey),
        headers: payload
          ? {
              // PATCH is always a JSON merge patch here: the simplest form that reads like the object.
              "content-type":
                method === "PATCH" ? "application/merge-patch+json" : "application/json",
              "content-length": payload.length,
            }
          : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON (/readyz answers "ok"): keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** A call that must succeed (2xx, or 409 when `exists` is fine); throws with the server's words. */
export async function apiMust(
  creds: AdminCredentials,
  method: string,
  path: string,
  body?: unknown,
  opts: { existsOk?: boolean } = {},
): Promise<unknown> {
  const a = await apiCall(creds, method, path, body);
  if (a.status >= 200 && a.status < 300) return a.body;
  if (a.status === 409 && opts.existsOk) return a.body;
  const msg = (a.body as { message?: string })?.message ?? JSON.stringify(a.body);
  throw new Error(`${method} ${path} answered ${a.status}: ${msg}`);
}

/** Polls until `check` returns a value, or throws at the deadline with `what`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not happen within ${Math.round(timeoutMs / 1000)} s${last ? `: ${(last as Error).message}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
