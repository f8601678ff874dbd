/**
 * Opaque page tokens. Callers must not build or parse them, so they are base64url and carry a
 * kind prefix: a session token fed to ListAgents is refused with a clear message instead of
 * silently paging the wrong table.
 */
import { invalidArgument } from "./errors.ts";
import type { SessionCursor } from "./ports.ts";

const PG_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const bad = () =>
  invalidArgument(
    "page_token: is not a token this server issued; pass back next_page_token unchanged or leave it empty.",
  );

/** Token for "the page after this key" in one list (kind "s" sessions, "t" templates, ...). */
export function encodeToken(kind: string, parts: string[]): string {
  return Buffer.from([kind, ...parts].join("\n"), "utf8").toString("base64url");
}

function decodeToken(kind: string, token: string, n: number): string[] {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  const parts = Buffer.from(token, "base64url").toString("utf8").split("\n");
  if (parts.length !== n + 1 || parts[0] !== kind) throw bad();
  return parts.slice(1);
}

/** Session position (create_time text, id); validated so a forged token cannot reach SQL. */
export function decodeSessionToken(token: string): SessionCursor | undefined {
  if (!token) return undefined;
  const [createTime = "", id = ""] = decodeToken("s", token, 2);
  if (!PG_TIME.test(createTime) || !UUID.test(id)) throw bad();
  return { createTime, id };
}

/** A single-key position (template name, agent id). */
export function decodeKeyToken(kind: string, token: string): string | undefined {
  if (!token) return undefined;
  const [key = ""] = decodeToken(kind, token, 1);
  if (!key || key.length > 200) throw bad();
  return key;
}
