/**
 * The UI is served from web/dist. It is built when missing or older than any of its sources, so
 * `npm start` and the browser test never serve a stale UI after a pull or an edit.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const SOURCES = ["web/src", "web/index.html", "web/vite.config.ts", "web/package.json"];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

/** True when web/dist/index.html is missing or older than a source file. */
export function webBuildIsStale(root = ROOT): boolean {
  const built = join(root, "web/dist/index.html");
  if (!existsSync(built)) return true;
  const sources = Math.max(...SOURCES.map((p) => newestMtime(join(root, p))));
  return sources > statSync(built).mtimeMs;
}

/** Builds the UI when stale; returns whether it built. */
export function ensureWebBuild(log: (line: string) => void = () => {}): boolean {
  if (!existsSync(join(ROOT, "web/index.html")) || !webBuildIsStale()) return false;
  log("Building the web UI (its sources changed or it was never built)…\n");
  execFileSync("npm", ["run", "build", "-w", "web"], { cwd: ROOT, stdio: "inherit" });
  return true;
}
