/**
 * `npm run bench -- <group>/<name> [args…]` runs one benchmark from bench/<group>/<name>.ts;
 * with no name it lists them. Benchmarks are not tests: they print figures that go into
 * bench/RESULTS.md with the command that produced them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL(".", import.meta.url).pathname;
const benches = readdirSync(root)
  .filter((d) => statSync(join(root, d)).isDirectory() && d !== "node_modules")
  .flatMap((d) =>
    readdirSync(join(root, d))
      .filter(
        (f) =>
          f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.includes("-kit") && !f.startsWith("_"),
      )
      .map((f) => `${d}/${f.slice(0, -3)}`),
  )
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name) {
  process.stdout.write(
    `usage: npm run bench -- <name> [args…]\n\n${benches.map((b) => `  ${b}`).join("\n")}\n`,
  );
  process.exit(0);
}
// A folder with a benchmark of its own name also runs by the folder's name ("ghz" → ghz/ghz.ts).
const file =
  [join(root, name, `${name}.ts`), join(root, `${name}.ts`)].find((f) => existsSync(f)) ??
  join(root, `${name}.ts`);
if (!existsSync(file)) {
  process.stderr.write(
    `no benchmark "${name}"; available:\n${benches.map((b) => `  ${b}`).join("\n")}\n`,
  );
  process.exit(2);
}
const r = spawnSync(process.execPath, ["--import", "tsx", file, ...args], { stdio: "inherit" });
process.exit(r.status ?? 1);
