/**
 * The grpcurl recipes the docs show, run as written with the real grpcurl binary against a live
 * control plane: every ```sh block of sdk/grpcurl/README.md and of the root README's "Use the
 * API" section, in order, in one shell (so TOKEN, KEY and SESSION flow from block to block),
 * with ADDR and PASSWORD set as the docs' setup blocks describe. Each block must match one
 * expectation below, so a recipe added to the docs without one fails here.
 *
 * Run by `bash sdk/scripts/test.sh grpcurl` (which installs grpcurl with `go install`), or
 * `npm test -- sdk/grpcurl` with grpcurl on PATH.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { type LiveControlPlane, startLiveControlPlane } from "../ts/testing/live-control-plane.ts";

const ROOT = resolve(import.meta.dirname, "../..");

/** The runnable ```sh blocks of a markdown text (```sh setup blocks are the reader's part). */
export function shellBlocks(markdown: string): string[] {
  const out: string[] = [];
  const re = /^```sh\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push(m[1]!.trimEnd());
  return out;
}

function useTheApiSection(readme: string): string {
  const start = readme.indexOf("\n## Use the API");
  assert.ok(start >= 0, 'the root README has a "## Use the API" section');
  const end = readme.indexOf("\n## ", start + 5);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** What each recipe must print, keyed by a fragment of the recipe's text. */
const EXPECT: Array<[fragment: string, output: RegExp[]]> = [
  // The root README's one block: token, key, then the sessions the key may see.
  ['"name": "my-script"', [/^\{[\s\S]*\}$/]],
  ['"$ADDR" list\n', [/streamspace\.v1\.SessionService/, /grpc\.health\.v1\.Health/]],
  ["describe streamspace.v1.SessionService.CreateSession", [/rpc CreateSession/, /template/]],
  ["grpc.health.v1.Health/Check", [/"status": "SERVING"[\s\S]*"status": "SERVING"/]],
  ["AuthService/Login", [/"username": "admin"/]],
  ["AuthService/CreateApiKey", [/"name": "ops-scripts"/, /"prefix": "ssk_/]],
  ["SessionService/ListSessions\n", [/^\{[\s\S]*\}$/]],
  ["SessionService/CreateSession", [/"id": "[0-9a-f-]{36}"/, /"templateId"/]],
  ["SessionService/WatchSessions", [/"state": "SESSION_STATE_/, /"state": "SESSION_STATE_STOPP/]],
  ["AgentService/ListAgents", [/"id": "local-1"/]],
  ["ListSessions || true", [/Unauthenticated/, /Sign in first/]],
];

function expectationFor(block: string): RegExp[] | undefined {
  const text = `${block}\n`;
  // The bare-credential recipe is the only one ending in "|| true" right after ListSessions.
  if (text.includes("ListSessions || true")) return EXPECT.at(-1)![1];
  return EXPECT.find(([fragment]) => text.includes(fragment))?.[1];
}

let cp: LiveControlPlane;
before(async () => {
  cp = await startLiveControlPlane();
});
after(async () => {
  await cp?.stop();
});

test("the documented grpcurl recipes work against a live control plane", () => {
  const version = spawnSync("grpcurl", ["-version"], { encoding: "utf8" });
  if (version.error) {
    throw new Error(
      "grpcurl is not on PATH: run `bash sdk/scripts/test.sh grpcurl` (it installs grpcurl with go install).",
    );
  }
  execFileSync("jq", ["--version"]); // the recipes use jq; install it with apt-get install jq
  const blocks = [
    ...shellBlocks(readFileSync(resolve(ROOT, "sdk/grpcurl/README.md"), "utf8")),
    ...shellBlocks(useTheApiSection(readFileSync(resolve(ROOT, "README.md"), "utf8"))).filter((b) =>
      b.includes("grpcurl"),
    ),
  ];
  assert.ok(blocks.length >= 10, `found ${blocks.length} recipes`);
  const script = [
    "set -euo pipefail",
    ...blocks.flatMap((b, i) => [`echo "@@recipe ${i}@@"`, `{\n${b}\n} 2>&1`]),
    'echo "@@vars@@ $TOKEN $KEY"',
  ].join("\n");
  const run = spawnSync("bash", ["-c", script], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ADDR: cp.address, PASSWORD: cp.password },
    timeout: 120_000,
  });
  const out = `${run.stdout}${run.stderr}`;
  assert.equal(run.status, 0, `a recipe failed:\n${out}`);
  const parts = out.split(/^@@recipe \d+@@\n/m).slice(1);
  assert.equal(parts.length, blocks.length);
  blocks.forEach((block, i) => {
    const expected = expectationFor(block);
    assert.ok(expected, `no expectation for this recipe; add one to EXPECT:\n${block}`);
    const output = parts[i]!.replace(/@@vars@@.*$/s, "").trim();
    for (const re of expected) assert.match(output, re, `recipe:\n${block}\noutput:\n${output}`);
  });
  const [, token, key] = /@@vars@@ (\S*) (\S*)/.exec(out) ?? [];
  assert.match(token ?? "", /^ey[\w-]+\.[\w-]+\.[\w-]+$/, "TOKEN is a JWT");
  assert.match(key ?? "", /^ssk_/, "KEY is an API key");
});
