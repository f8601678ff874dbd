/**
 * The built-in VNC server runs as its own process (one process group per session, like every
 * local session). Starting it through the tsx loader costs most of a second; bundling its
 * TypeScript once per agent start into one plain ES module (esbuild, ~50 ms) makes each
 * session start a bare `node file.mjs`. If bundling fails, the tsx loader is the fallback.
 * The build runs asynchronously (esbuild's service process), so the driver can start it when it
 * opens without blocking the agent's event loop, and the first session does not pay for it.
 * The service is stopped once no build is in flight, so the agent keeps no idle esbuild child.
 */
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "@streamspace/common/log";
import { build, stop } from "esbuild";

const ENTRY = fileURLToPath(new URL("../../vnc/demo-server-main.ts", import.meta.url));
// In a production bundle (scripts/bundle.ts) the server is prebuilt beside the agent's bundle.
const PREBUILT = fileURLToPath(new URL("./builtin-vnc.mjs", import.meta.url));

/** Command and arguments that start the built-in server. */
export interface BuiltinCommand {
  cmd: string;
  args: string[];
}

let building = 0;

/** Bundles the server into `dir`; returns how to run it. */
export async function prepareBuiltinServer(dir: string, log: Logger): Promise<BuiltinCommand> {
  if (existsSync(PREBUILT)) return { cmd: process.execPath, args: [PREBUILT] };
  const out = join(dir, "builtin-vnc.mjs");
  building++;
  try {
    const tmp = `${out}.${process.pid}.tmp.mjs`;
    await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: tmp,
      logLevel: "silent",
      // The kit's logger (pino) is CommonJS and requires Node built-ins; ESM output has no
      // require() unless we make one.
      banner: {
        js: "import { createRequire as __ssCreateRequire } from 'node:module'; const require = __ssCreateRequire(import.meta.url);",
      },
    });
    renameSync(tmp, out);
    return { cmd: process.execPath, args: [out] };
  } catch (err) {
    log.warn("could not bundle the built-in VNC server; starting it through tsx (slower)", { err });
    return { cmd: process.execPath, args: ["--import", import.meta.resolve("tsx"), ENTRY] };
  } finally {
    // A later build starts the service again by itself.
    if (--building === 0) await stop().catch(() => {});
  }
}
