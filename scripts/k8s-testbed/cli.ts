/**
 * The test bed for a person: `start` runs it in the background and prints the KUBECONFIG to
 * export, `stop` ends it, `up` runs it in the foreground until Ctrl-C. The bed's processes are
 * tied to the `up` process (lifeline.sh), so stopping that one process stops them all.
 *
 *   node --import tsx scripts/k8s-testbed/cli.ts start [--dir .data/k8s-testbed]
 *   node --import tsx scripts/k8s-testbed/cli.ts stop  [--dir .data/k8s-testbed]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startRunWideTestbed } from "./testbed.ts";

const [command = "help", ...rest] = process.argv.slice(2);
const dirFlag = rest.indexOf("--dir");
const dir = resolve(dirFlag >= 0 ? (rest[dirFlag + 1] ?? "") : ".data/k8s-testbed");
const stateFile = join(dir, "current.json");

interface State {
  pid: number;
  kubeconfig: string;
  testbed: string;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function current(): State | undefined {
  if (!existsSync(stateFile)) return undefined;
  const s = JSON.parse(readFileSync(stateFile, "utf8")) as State;
  return alive(s.pid) ? s : undefined;
}

async function up(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const bed = await startRunWideTestbed(dir);
  const state: State = { pid: process.pid, kubeconfig: bed.kubeconfig, testbed: bed.file };
  writeFileSync(stateFile, JSON.stringify(state));
  process.stdout.write(`export KUBECONFIG=${bed.kubeconfig}\n`);
  // The bed's handles are unref'd (tests must be able to exit); this process lives for it.
  const keepAlive = setInterval(() => {}, 60_000);
  const stop = async () => {
    clearInterval(keepAlive);
    await bed.stop();
    rmSync(stateFile, { force: true });
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

async function start(): Promise<void> {
  const running = current();
  if (running) {
    process.stdout.write(
      `already running (pid ${running.pid})\nexport KUBECONFIG=${running.kubeconfig}\n`,
    );
    return;
  }
  mkdirSync(dir, { recursive: true });
  rmSync(stateFile, { force: true });
  const log = openSync(join(dir, "testbed.log"), "a");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", new URL(import.meta.url).pathname, "up", "--dir", dir],
    {
      detached: true,
      stdio: ["ignore", log, log],
    },
  );
  child.unref();
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const s = current();
    if (s) {
      process.stdout.write(
        `test bed running (pid ${s.pid}); stop it with: node --import tsx scripts/k8s-testbed/cli.ts stop\nexport KUBECONFIG=${s.kubeconfig}\n`,
      );
      return;
    }
    if (child.exitCode !== null || !alive(child.pid ?? 0)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stderr.write(`the test bed did not start; see ${join(dir, "testbed.log")}\n`);
  process.exit(1);
}

async function stop(): Promise<void> {
  const s = current();
  if (!s) {
    process.stdout.write("no test bed is running\n");
    return;
  }
  process.kill(s.pid, "SIGTERM");
  const deadline = Date.now() + 60_000;
  while (alive(s.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive(s.pid)) process.kill(s.pid, "SIGKILL");
  process.stdout.write("test bed stopped\n");
}

switch (command) {
  case "up":
    await up();
    break;
  case "start":
    await start();
    break;
  case "stop":
    await stop();
    break;
  default:
    process.stderr.write("usage: cli.ts start|stop|up [--dir DIR]\n");
    process.exit(2);
}
