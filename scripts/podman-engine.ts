/**
 * A real Docker Engine API for tests and benchmarks: Podman's Docker-compatible service
 * (`podman system service --time=0 unix://<dir>/podman.sock`) in a folder of its own.
 *
 *   node --import tsx scripts/podman-engine.ts     # prints DOCKER_HOST=…, runs until Ctrl-C
 *
 * Decisions:
 * - **Own storage, shared images.** Containers, volumes and networks live under the engine's
 *   temp folder (its own graphroot, runroot, volume path and network config folder), so a test
 *   never sees, and can never remove, what `deploy/images` builds or smokes, nor another test
 *   file's engine. Images are read from the machine's store (`/var/lib/containers/storage`)
 *   as a read-only additional image store: nothing is copied and no registry is needed, but the
 *   desktop images must have been built first (`bash deploy/images/build.sh`, which `.ci/run`
 *   runs before the tests).
 * - **runc and explicit ulimits**, as deploy/images/containers.conf: crun refuses this kind of
 *   machine's hybrid cgroup v1 layout, and a container may only keep or lower the caller's
 *   limits.
 * - **Session networks from their own address pool** (10.213.0.0/16 in /24s), away from the
 *   default `podman` network the image scripts use.
 * - **Nothing outlives its owner.** The service runs under k8s-testbed/lifeline.sh (it ends when
 *   this process goes, however it goes); stop() removes every container, network and volume of
 *   the engine and the folder. A folder whose owner died (owner.pid) is cleaned the same way by
 *   the next engine started.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const LIFELINE = new URL("./k8s-testbed/lifeline.sh", import.meta.url).pathname;
const PREFIX = "ss-podman-";
/** Where `deploy/images/build.sh` leaves the images (rootful Podman's default store). */
export const MACHINE_IMAGE_STORE = "/var/lib/containers/storage";

/** A running engine; disposing it stops it and removes everything it made. */
export interface PodmanEngine extends AsyncDisposable {
  dir: string;
  socketPath: string;
  /** `unix:///…/podman.sock`, what DOCKER_HOST takes. */
  dockerHost: string;
  /** Environment for the `podman` CLI on this engine's storage (tests inspect with it). */
  env: NodeJS.ProcessEnv;
  /** Stops the API service only; containers keep running under their conmon. */
  stopService(): Promise<void>;
  /** Starts the API service again on the same socket. */
  startService(): Promise<void>;
  /** Runs the podman CLI on this engine's storage. */
  podman(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

function configFiles(dir: string): NodeJS.ProcessEnv {
  const storage = join(dir, "storage.conf");
  const containers = join(dir, "containers.conf");
  writeFileSync(
    storage,
    [
      "[storage]",
      'driver = "overlay"',
      `graphroot = "${join(dir, "graph")}"`,
      `runroot = "${join(dir, "run")}"`,
      "[storage.options]",
      `additionalimagestores = ["${MACHINE_IMAGE_STORE}"]`,
      "",
    ].join("\n"),
  );
  writeFileSync(
    containers,
    [
      "[containers]",
      'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]',
      "[network]",
      `network_config_dir = "${join(dir, "networks")}"`,
      'default_subnet_pools = [{"base" = "10.213.0.0/16", "size" = 24}]',
      "[engine]",
      'runtime = "runc"',
      `volume_path = "${join(dir, "volumes")}"`,
      `tmp_dir = "${join(dir, "tmp")}"`,
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, "events.log")}"`,
      "",
    ].join("\n"),
  );
  for (const sub of ["networks", "tmp"]) mkdirSync(join(dir, sub), { recursive: true });
  return { ...process.env, CONTAINERS_CONF: containers, CONTAINERS_STORAGE_CONF: storage };
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once("error", () => resolve(false));
    req.once("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

async function podmanCli(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const { stdout } = await run("podman", args, { env, maxBuffer: 16 << 20, timeout: 120_000 });
  return stdout;
}

/**
 * The service's environment without the test runner's markers. Netavark starts one aardvark-dns
 * per machine (its state is in /run/containers/networks whatever the engine's folders) and it
 * serves every engine's networks until the last one goes, so it can outlive the test file that
 * happened to start it while another file's engine still uses it: it is not that file's leak.
 * What this engine starts is ended by the lifeline and stop() (and the next engine's sweep).
 */
function serviceEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.STREAMSPACE_TEST_RUN;
  delete out.STREAMSPACE_TEST_FILE;
  return out;
}

/** Removes every container, network and volume of an engine folder, then the folder. */
async function wipe(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const quiet = (args: string[]) => podmanCli(env, args).catch(() => "");
  await quiet(["rm", "--all", "--force", "--time", "0"]);
  await quiet(["network", "prune", "--force"]);
  await quiet(["volume", "prune", "--force"]);
  // The overlay driver keeps its folder bind-mounted on itself; unmount before removing.
  await run("umount", ["--lazy", join(dir, "graph", "overlay")]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function sweepDeadEngines(parent: string): Promise<void> {
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(parent, name);
    try {
      const owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
      if (owner > 0 && !alive(owner)) await wipe(dir, configFiles(dir));
    } catch {
      // no owner file (being created): leave it
    }
  }
}

/** Starts an engine of this process's own (under `parent`, default the temp folder). */
export async function startPodmanEngine(parent = tmpdir()): Promise<PodmanEngine> {
  if (!existsSync("/usr/bin/podman") && !existsSync("/usr/local/bin/podman"))
    throw new Error("podman is not installed: run bash scripts/install-system-deps.sh (as root)");
  mkdirSync(parent, { recursive: true });
  await sweepDeadEngines(parent);
  const dir = mkdtempSync(join(parent, PREFIX));
  writeFileSync(join(dir, "owner.pid"), String(process.pid));
  const env = configFiles(dir);
  const socketPath = join(dir, "podman.sock");
  const log = join(dir, "service.log");
  let child: ChildProcess | undefined;

  const startService = async () => {
    rmSync(socketPath, { force: true });
    const fd = openSync(log, "a");
    // fd 3 is the lifeline: when this process goes, the pipe closes and the service stops.
    const c = spawn(
      "bash",
      [LIFELINE, "podman", "system", "service", "--time=0", `unix://${socketPath}`],
      // cwd: conmon drops an empty "oom" marker in its working folder when a container is
      // OOM-killed; inside the engine's own folder it goes away with the engine.
      { stdio: ["ignore", fd, fd, "pipe"], env: serviceEnv(env), cwd: dir },
    );
    closeSync(fd);
    c.unref();
    (c.stdio[3] as Socket | null)?.unref();
    child = c;
    const deadline = Date.now() + 60_000;
    while (!(await ping(socketPath))) {
      if (c.exitCode !== null || c.signalCode !== null || Date.now() > deadline) {
        const tail = readFileSync(log, "utf8").trimEnd().split("\n").slice(-10).join("\n");
        throw new Error(`podman system service did not answer on ${socketPath}:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stopService = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopService();
    await wipe(dir, env);
  };
  try {
    await startService();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    env,
    stopService,
    startService,
    podman: (args) => podmanCli(env, args),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const engine = await startPodmanEngine();
  console.log(`DOCKER_HOST=${engine.dockerHost}`);
  console.log("(Ctrl-C stops the engine and removes its containers, networks and volumes)");
  const end = () => void engine.stop().then(() => process.exit(0));
  process.once("SIGINT", end);
  process.once("SIGTERM", end);
  setInterval(() => {}, 1 << 30);
}
