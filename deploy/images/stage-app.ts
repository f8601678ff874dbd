/**
 * Stages one Node image's build context: `<context>/app/` with the production bundles
 * (`npm run build` makes them) and only the third-party packages those bundles can load.
 *
 * The bundles keep third-party packages external (scripts/bundle.ts), so an image needs a
 * node_modules. `npm ci --omit=dev --workspace <w>` gives the workspace's production tree (in a
 * folder cached by the lockfile's hash, so a warm build never runs npm), but a workspace also
 * pulls its siblings' dependencies and npm installs required peers (TypeScript for tRPC's
 * types). So the tree is pruned to what the bundles import, closed over each package's
 * `dependencies` and `optionalDependencies` resolved as Node resolves them; typings, source
 * maps, TypeScript sources and docs go too (LICENSE files stay).
 *
 *   node --import tsx deploy/images/stage-app.ts <image> <context-dir>
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);

/** What each Node image carries: the workspace whose production dependencies it needs, the
 *  bundles whose imports decide which of them stay, and the paths copied under app/. */
export const NODE_IMAGES = {
  "control-plane": {
    workspace: "control-plane",
    bundles: ["control-plane/dist/main.mjs"],
    copy: ["control-plane/package.json", "control-plane/dist", "web/dist"],
  },
  relay: {
    workspace: "dataplane",
    bundles: ["dataplane/dist/main.mjs"],
    copy: ["dataplane/package.json", "dataplane/dist"],
  },
  agent: {
    workspace: "agents",
    bundles: ["agents/dist/main.mjs", "agents/dist/builtin-vnc.mjs"],
    // The agent reads its version from ../package.json beside its bundle.
    copy: ["agents/package.json", "agents/dist"],
  },
  "desktop-demo": {
    // The demo server logs through the kit's logger (pino); nothing else of the agent.
    workspace: "agents",
    bundles: ["agents/dist/builtin-vnc.mjs"],
    copy: ["agents/dist/builtin-vnc.mjs"],
  },
} as const;

export type NodeImage = keyof typeof NODE_IMAGES;

const cacheDir = () =>
  join(
    process.env.STREAMSPACE_CACHE ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "streamspace"),
    "images",
    "npm",
  );

/** Bare package names a bundle imports (static, dynamic and require), node: builtins excluded. */
export function importedPackages(source: string): Set<string> {
  const names = new Set<string>();
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)["']([^"'./][^"']*)["']/gm;
  for (const m of source.matchAll(re)) {
    const spec = m[1] as string;
    if (spec.startsWith("node:")) continue;
    const parts = spec.split("/");
    names.add(spec.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
  }
  return names;
}

/** The package folder Node would load `name` from when required inside `fromDir`. */
function resolvePackage(name: string, fromDir: string, top: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === top || dir === dirname(dir)) return undefined;
    dir = dirname(dir);
  }
}

/** Every package folder reachable from `roots` through dependencies and optional ones. */
export function dependencyClosure(top: string, roots: Iterable<string>): Set<string> {
  const keep = new Set<string>();
  const visit = (name: string, fromDir: string, optional: boolean) => {
    const dir = resolvePackage(name, fromDir, top);
    if (!dir) {
      if (optional) return;
      throw new Error(`${name} is imported but not installed under ${top}`);
    }
    if (keep.has(dir)) return;
    keep.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    for (const d of Object.keys(pkg.dependencies ?? {})) visit(d, dir, false);
    for (const d of Object.keys(pkg.optionalDependencies ?? {})) visit(d, dir, true);
  };
  for (const r of roots) visit(r, top, false);
  return keep;
}

/** Package folders of a node_modules tree (scoped and nested ones too). */
function packageDirs(nodeModules: string, out: string[] = []): string[] {
  if (!existsSync(nodeModules)) return out;
  for (const entry of readdirSync(nodeModules)) {
    const p = join(nodeModules, entry);
    if (entry.startsWith("@")) {
      for (const sub of readdirSync(p)) {
        out.push(join(p, sub));
        packageDirs(join(p, sub, "node_modules"), out);
      }
    } else if (!entry.startsWith(".")) {
      out.push(p);
      packageDirs(join(p, "node_modules"), out);
    }
  }
  return out;
}

/** Never loaded at run time: typings and TypeScript sources (Node 20 runs no .ts), maps, docs. */
const JUNK = /\.(?:[cm]?ts|map|md|markdown|tsbuildinfo)$/i;

/** Deletes typings, maps, TypeScript sources and docs below `dir`; keeps licenses. */
function dropJunk(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) dropJunk(p);
    else if (JUNK.test(entry.name) && !/^licen[cs]e/i.test(entry.name)) rmSync(p);
  }
}

/** The workspace's production tree, installed once per lockfile into the cache. */
function installProduction(workspace: string): string {
  const lock = readFileSync(join(ROOT, "package-lock.json"));
  const rootPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const hash = createHash("sha256").update(lock);
  for (const w of rootPkg.workspaces as string[]) {
    hash.update(readFileSync(join(ROOT, w, "package.json")));
  }
  const dir = join(cacheDir(), `${workspace}-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(join(dir, "node_modules", ".complete"))) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  cpSync(join(ROOT, "package.json"), join(tmp, "package.json"));
  cpSync(join(ROOT, "package-lock.json"), join(tmp, "package-lock.json"));
  for (const w of rootPkg.workspaces as string[]) {
    mkdirSync(join(tmp, w), { recursive: true });
    cpSync(join(ROOT, w, "package.json"), join(tmp, w, "package.json"));
  }
  const args = ["ci", "--omit=dev", `--workspace=${workspace}`, "--ignore-scripts"];
  execFileSync("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund"], {
    cwd: tmp,
    stdio: ["ignore", "ignore", "inherit"],
  });
  writeFileSync(join(tmp, "node_modules", ".complete"), "");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** Fills `<context>/app` for `image`; returns the number of packages kept. */
export function stageApp(image: NodeImage, context: string): number {
  const spec = NODE_IMAGES[image];
  for (const b of spec.bundles) {
    if (!existsSync(join(ROOT, b))) throw new Error(`${b} is missing: run "npm run build" first`);
  }
  const app = join(context, "app");
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  for (const p of spec.copy) {
    cpSync(join(ROOT, p), join(app, p), { recursive: true });
  }
  const wanted = new Set<string>();
  for (const b of spec.bundles) {
    for (const n of importedPackages(readFileSync(join(ROOT, b), "utf8"))) wanted.add(n);
  }
  const nodeModules = join(app, "node_modules");
  const installed = installProduction(spec.workspace);
  cpSync(join(installed, "node_modules"), nodeModules, { recursive: true, verbatimSymlinks: true });
  const keep = dependencyClosure(app, wanted);
  for (const dir of packageDirs(nodeModules).sort((a, b) => b.length - a.length)) {
    if (!keep.has(dir)) rmSync(dir, { recursive: true, force: true });
  }
  for (const entry of readdirSync(nodeModules)) {
    const p = join(nodeModules, entry);
    if (entry.startsWith(".")) rmSync(p, { recursive: true, force: true });
    else if (entry.startsWith("@") && readdirSync(p).length === 0) rmSync(p, { recursive: true });
  }
  dropJunk(nodeModules);
  return keep.size;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [image, context] = process.argv.slice(2);
  if (!image || !context || !(image in NODE_IMAGES)) {
    process.stderr.write(`usage: stage-app.ts <${Object.keys(NODE_IMAGES).join("|")}> <dir>\n`);
    process.exit(2);
  }
  const kept = stageApp(image as NodeImage, resolve(context));
  const size = execFileSync("du", ["-sh", join(resolve(context), "app")], { encoding: "utf8" });
  process.stderr.write(`[stage] ${image}: ${kept} packages, ${size.split("\t")[0]}\n`);
}
