/**
 * Serves the built web UI (web/dist). Unknown paths fall back to index.html so client-side
 * routes survive a reload; hashed assets are cached for a year, index.html never.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { type AnyRequest, type AnyResponse, pathOf } from "@streamspace/common/listener";
import type { RouteHandler } from "./http-server.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".map": "application/json",
};

const PLACEHOLDER = `<!doctype html><html><head><meta charset="utf-8"><title>StreamSpace</title></head>
<body style="font-family:system-ui;margin:3rem"><h1>StreamSpace</h1>
<p>The control plane is running. The web UI has not been built yet: run <code>npm run build -w web</code>.</p>
<p>Health: <a href="/health">/health</a> · Metrics: <a href="/metrics">/metrics</a></p></body></html>`;

/** GET/HEAD handler for the SPA; API prefixes are excluded so they never get index.html. */
export function createStaticHandler(root: string, apiPrefixes: string[]): RouteHandler {
  return (req: AnyRequest, res: AnyResponse) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = decodeURIComponent(pathOf(req));
    if (apiPrefixes.some((p) => path.startsWith(p))) return false;
    // gRPC-Web and Connect GETs carry these; leave them to the Connect adapter.
    if (/^\/[a-z0-9_.]+\.[A-Za-z0-9_]+\/[A-Za-z0-9_]+$/.test(path)) return false;
    if (!existsSync(join(root, "index.html"))) {
      res.writeHead(200, { "content-type": TYPES[".html"]! });
      res.end(PLACEHOLDER);
      return true;
    }
    const safe = normalize(path).replace(/^(\.\.[/\\])+/, "");
    let file = join(root, safe);
    if (!file.startsWith(root) || !existsSync(file) || statSync(file).isDirectory())
      file = join(root, "index.html");
    const isIndex = file.endsWith("index.html");
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": isIndex ? "no-cache" : "public, max-age=31536000, immutable",
    });
    if (req.method === "HEAD") {
      res.end();
      return true;
    }
    createReadStream(file).pipe(res as NodeJS.WritableStream);
    return true;
  };
}
