/**
 * Waiting for a launched system to answer: polls a /health URL until its JSON satisfies the
 * caller, failing early when one of the launched processes exits or the start is aborted.
 */
import { get as httpGet } from "node:http";
import type { OwnedChild } from "./owned-child.ts";

/** The part of /health the launchers read. */
export type Health = { agents?: { connected?: number } };

/**
 * GET a JSON document on a connection that closes after the answer: a kept-alive connection
 * of ours would hold the control plane's shutdown for its whole grace period.
 */
export function getJson<T = Health>(url: string, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, headers: { connection: "close" }, signal }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(err);
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** Polls a health URL until `ok` accepts its JSON; fails early when a child exits or on abort. */
export async function waitForHealth(
  url: string,
  children: OwnedChild[],
  timeoutMs: number,
  ok: (body: Health) => boolean,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const dead = children.find((c) => !c.alive);
    if (dead) {
      throw new Error(`the ${dead.name} process exited during start-up; see its log.`);
    }
    try {
      const body = await getJson(url, signal);
      if (ok(body)) return;
      last = JSON.stringify(body);
    } catch (err) {
      signal?.throwIfAborted();
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s; last answer: ${last}`);
}
