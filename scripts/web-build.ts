/**
 * The UI is served from web/dist. It is built when missing or older than any of its sources, so
 * `npm start` and the browser test never serve a stale UI after a pull or an edit.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnOwned } from "./owned-child.ts";

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

/**
 * Builds the UI when stale; resolves whether it built. The build is a child we own, so an abort
 * (Ctrl-C during `npm start`) stops it instead of waiting for it.
 */
export async function ensureWebBuild(
  opts: { log?: (line: string) => void; signal?: AbortSignal; quiet?: boolean } = {},
): Promise<boolean> {
  if (!existsSync(join(ROOT, "web/index.html")) || !webBuildIsStale()) return false;
  opts.log?.("Building the web UI (its sources changed or it was never built)…\n");
  const build = spawnOwned("web build", "npm", ["run", "build", "-w", "web"], {
    cwd: ROOT,
    stdio: opts.quiet ? ["ignore", "ignore", "pipe"] : ["ignore", "inherit", "inherit"],
  });
  let stderr = "";
  build.child.stderr?.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const abort = () => void build.stop();
  opts.signal?.addEventListener("abort", abort, { once: true });
  try {
    const { code, signal } = await build.exited;
    opts.signal?.throwIfAborted();
    if (code !== 0) {
      throw new Error(`the web UI build failed (${signal ?? `exit code ${code}`}):\n${stderr}`);
    }
  } finally {
    opts.signal?.removeEventListener("abort", abort);
    await build.stop();
  }
  return true;
}
