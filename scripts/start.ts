/**
 * `npm start`: the whole system on this machine with embedded defaults. It installs the system
 * packages desktops use (or prints the command), builds the UI when stale, starts control
 * plane, relay and agent with their logs in `<data>/logs/` (`--verbose`: on the terminal),
 * says what it is doing at each step, and prints where to open it and how to log in last.
 *
 * Stopping: SIGINT, SIGTERM or SIGHUP to this process, to npm (the root script `exec`s us, so
 * npm's forwarded signal reaches us), or to any of the children (one exits, so we stop the rest),
 * and the death of our parent (we poll our parent id), all stop every process, agent first so
 * its desktops end as Stopped. The children stop by themselves if we are killed outright.
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { type LocalSystem, startLocalSystem } from "./local-system.ts";
import { ensureWebBuild } from "./web-build.ts";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const verbose = process.argv.includes("--verbose") || process.argv.includes("-v");
const dataDir = resolve(process.env.DATA_DIR ?? join(ROOT, ".data"));
const say = (line: string) => process.stdout.write(`${line}\n`);

const aborter = new AbortController();
/** The start attempt; an abort makes it stop what it started and reject. */
let starting: Promise<LocalSystem> | undefined;
let stopping: Promise<void> | undefined;

/** Stops everything once, however many signals arrive (Ctrl-C reaches npm and us both). */
function shutdown(reason: string, code: number): Promise<void> {
  stopping ??= (async () => {
    say(`\n${reason}: stopping StreamSpace…`);
    aborter.abort();
    const system = await starting?.catch(() => undefined);
    await system?.stop(15_000);
    say(`Stopped. Data kept in ${dataDir}.`);
    process.exit(code);
  })();
  return stopping;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => void shutdown(`${signal} received`, 0));
}
// npm (or whatever started us) died without signalling us: stop rather than run on orphaned.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown("the parent process is gone", 1);
}, 500).unref();

function installSystemPackages(): Promise<void> {
  return new Promise((done, fail) => {
    const p = spawn("bash", [join(ROOT, "scripts/install-system-deps.sh"), "--start"], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    const abort = () => p.kill("SIGTERM");
    aborter.signal.addEventListener("abort", abort, { once: true });
    p.once("error", fail);
    p.once("exit", (code) => {
      aborter.signal.removeEventListener("abort", abort);
      if (code === 0) done();
      else fail(new Error(`installing system packages failed (exit code ${code})`));
    });
  });
}

try {
  say("Checking system packages…");
  await installSystemPackages();
  say("Checking the web UI build…");
  await ensureWebBuild({ log: (l) => process.stdout.write(l), signal: aborter.signal });
  starting = startLocalSystem({
    port: Number(process.env.PORT ?? 8080),
    relayPort: Number(process.env.RELAY_PORT ?? 8081),
    agentHealthPort: Number(process.env.AGENT_HEALTH_PORT ?? 8082),
    dataDir,
    output: verbose ? "inherit" : "files",
    progress: say,
    signal: aborter.signal,
    // Embedded defaults unless the person starting it names a database or Redis explicitly.
    callerStore: true,
  });
  await starting;
} catch (err) {
  if (stopping) await stopping;
  const logs = verbose ? "" : ` The process logs are in ${join(dataDir, "logs")}.`;
  process.stderr.write(`\nStreamSpace did not start: ${(err as Error).message}${logs}\n`);
  process.exit(1);
}

const running = await starting;
void running.exited.then((e) => {
  const how = e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
  const log = running.logDir ? ` (log: ${join(running.logDir, `${e.name}.log`)})` : "";
  return shutdown(`the ${e.name} process ${how}${log}`, e.code === 0 ? 0 : 1);
});

say(
  [
    "",
    "  StreamSpace is running.",
    `  Open      ${running.url}`,
    `  Log in    ${running.username} / ${running.password}`,
    `  Data      ${dataDir} (delete it to start afresh)`,
    ...(running.logDir ? [`  Logs      ${running.logDir}`] : []),
    "  Stop      Ctrl-C",
    "",
  ].join("\n"),
);
