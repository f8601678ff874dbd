/**
 * The built-in VNC server runs as its own process (one process group per session, like every
 * local session). Starting it through the tsx loader costs most of a second; bundling its
 * TypeScript once per agent start into one plain ES module (esbuild, ~50 ms) makes each
 * session start a bare `node file.mjs`. If bundling fails, the tsx loader is the fallback.
 */
import { renameSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import type { Logger } from "../runtime/log.ts";

const ENTRY = fileURLToPath(new URL("../vnc/demo-server-main.ts", import.meta.url));

/** Command and arguments that start the built-in server. */
export interface BuiltinCommand {
  cmd: string;
  args: string[];
}

/** Bundles the server into `dir`; returns how to run it. */
export function prepareBuiltinServer(dir: string, log: Logger): BuiltinCommand {
  const out = join(dir, "builtin-vnc.mjs");
  try {
    const tmp = `${out}.${process.pid}.tmp.mjs`;
    buildSync({
      entryPoints: [ENTRY],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: tmp,
      logLevel: "silent",
    });
    renameSync(tmp, out);
    return { cmd: process.execPath, args: [out] };
  } catch (err) {
    log.warn("could not bundle the built-in VNC server; starting it through tsx (slower)", { err });
    return { cmd: process.execPath, args: ["--import", import.meta.resolve("tsx"), ENTRY] };
  }
}
