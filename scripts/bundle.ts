/**
 * Production builds of the Node deployables: each entry point bundled by esbuild into one ES
 * module at `<deployable>/dist/main.mjs` (plus helpers beside it), run with plain `node`.
 *
 * Why: the tsx loader costs ~115 MiB of RSS per process (its loader plus transpiled sources kept
 * with inline source maps) and startup time; bench/RESULTS.md ("Agent gateway", fan-in) shows a
 * control plane holding 10,000 agent streams at 886 MiB from a bundle vs 1,027 MiB under tsx.
 * Third-party packages stay external (resolved from node_modules at run time, so native and
 * WebAssembly assets such as PGlite's load as their authors intended); the workspace packages
 * (@streamspace/*) are bundled in, since they ship TypeScript sources. The bundle sits at the
 * same depth as src/, so paths the code resolves from import.meta.url (web/dist) still hold.
 */
import { cpSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { build } from "esbuild";

const ROOT = resolve(new URL("..", import.meta.url).pathname);

/** Per deployable: bundles to make (output name → entry) and files copied beside them. */
export const DEPLOYABLES = {
  "control-plane": { entries: { main: "control-plane/src/main.ts" }, copy: [] },
  dataplane: { entries: { main: "dataplane/src/main.ts" }, copy: [] },
  agents: {
    // The built-in VNC server ships prebuilt, so a bundled agent never runs esbuild itself
    // (agents/src/drivers/local/builtin-bundle.ts looks for it beside the agent's bundle).
    entries: { main: "agents/src/main.ts", "builtin-vnc": "agents/src/vnc/demo-server-main.ts" },
    // The session programs (desktop, browser) sit in sessions/ beside x11-session.sh.
    copy: ["agents/src/drivers/local/x11-session.sh", "agents/src/drivers/local/sessions"],
  },
} as const;

export type Deployable = keyof typeof DEPLOYABLES;

/** Every third-party package any workspace depends on: they stay external. */
function externals(): string[] {
  const workspaces: string[] = JSON.parse(
    readFileSync(join(ROOT, "package.json"), "utf8"),
  ).workspaces;
  const names = new Set<string>();
  for (const w of workspaces) {
    const pkg = JSON.parse(readFileSync(join(ROOT, w, "package.json"), "utf8"));
    for (const n of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (!n.startsWith("@streamspace/")) names.add(n);
    }
  }
  return [...names].flatMap((n) => [n, `${n}/*`]);
}

/** Bundles the named deployables; returns the output paths. */
export async function bundleDeployables(
  which: Deployable[] = Object.keys(DEPLOYABLES) as Deployable[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const external = externals();
  for (const name of which) {
    const { entries, copy } = DEPLOYABLES[name];
    const outdir = join(ROOT, name, "dist");
    await build({
      entryPoints: Object.entries(entries).map(([out, src]) => ({ out, in: join(ROOT, src) })),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outdir,
      outExtension: { ".js": ".mjs" },
      external,
      sourcemap: "linked",
      logLevel: "warning",
      // Bundled CommonJS helpers may call require(); ESM output has none unless we make one.
      banner: {
        js: "import { createRequire as __ssCreateRequire } from 'node:module'; const require = __ssCreateRequire(import.meta.url);",
      },
    });
    for (const file of copy)
      cpSync(join(ROOT, file), join(outdir, basename(file)), { recursive: true });
    out[name] = join(outdir, "main.mjs");
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const built = await bundleDeployables();
  for (const [name, file] of Object.entries(built)) {
    process.stdout.write(`${name}: ${file.slice(ROOT.length + 1)}\n`);
  }
}
