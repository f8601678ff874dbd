/**
 * When a started desktop counts as running: its image's health check (the HEALTHCHECK on the
 * VNC port, e.g. "the port answers with an RFB banner") passes. The driver runs that check
 * itself through the Engine's exec API rather than waiting for the Engine to schedule it: Podman
 * without systemd never runs health checks on its own, and Docker's first scheduled run comes
 * one interval after start — either way a start would wait seconds for nothing.
 *
 * An exec costs a runtime process or two on the host, so the wait first polls what is cheap —
 * the published loopback port answers with an RFB banner (every 25–100 ms), the agent's own
 * view of the desktop — and then runs the image's check to confirm, again only if it fails. An
 * image without a health check is ready at the banner.
 */
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type Docker from "dockerode";
import { DriverError } from "../../runtime/driver.ts";
import { statusOf } from "./docker-session-spawn.ts";
import { type ContainerFacts, exitReason } from "./docker-session-state.ts";

/** The exec command for a Docker HEALTHCHECK test, or undefined for none. */
export function healthCommand(test: string[] | undefined): string[] | undefined {
  if (!test || test.length === 0) return undefined;
  const [kind, ...rest] = test;
  if (kind === "CMD" && rest.length > 0) return rest;
  if (kind === "CMD-SHELL" && rest[0]) return ["/bin/sh", "-c", rest[0]];
  return undefined;
}

/** Runs `cmd` in the container; true when it exits 0. Rejects when the container is not running. */
async function execCheck(container: Docker.Container, cmd: string[]): Promise<boolean> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  stream.resume();
  await new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
  const info = await exec.inspect();
  return info.ExitCode === 0;
}

/** True when 127.0.0.1:port answers with an RFB version banner. */
export function rfbBanner(port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("error", () => done(false));
    sock.once("data", (d) => done(d.subarray(0, 4).toString() === "RFB "));
  });
}

/** The facts of a container from its inspect output. */
export function factsOf(info: Docker.ContainerInspectInfo): ContainerFacts {
  return {
    name: info.Name.replace(/^\//, ""),
    running: info.State.Running,
    status: info.State.Status,
    exitCode: info.State.ExitCode,
    oomKilled: info.State.OOMKilled,
    error: info.State.Error ?? "",
    memoryBytes: info.HostConfig?.Memory ?? 0,
  };
}

/** The loopback port the Engine published `vncPort` on, if any. */
export function publishedPort(
  info: Docker.ContainerInspectInfo,
  vncPort: number,
): number | undefined {
  const bindings = info.NetworkSettings?.Ports?.[`${vncPort}/tcp`] ?? [];
  const port = Number(bindings.find((b) => b.HostPort)?.HostPort);
  return port > 0 ? port : undefined;
}

/**
 * Waits until the started container's health check passes; returns its published port and
 * when its banner first answered (ms after the call; the rest was the health check). A
 * container that exits first fails the start with the Engine's reason. The check is read from
 * the container, not the image: Podman's image inspect leaves HEALTHCHECK out, its containers
 * inherit it all the same.
 */
export async function waitReady(
  container: Docker.Container,
  vncPort: number,
  signal: AbortSignal,
): Promise<{ port: number; bannerMs: number }> {
  const t0 = performance.now();
  let bannerMs = -1;
  let pause = 25;
  for (;;) {
    const info = await container.inspect();
    // The container's own check: the image's, or the driver's faster-interval copy of it.
    const cmd = healthCommand(info.Config.Healthcheck?.Test);
    if (!info.State.Running) {
      const { reason } = exitReason(factsOf(info));
      throw new DriverError("unavailable", `the desktop did not start: ${reason}`);
    }
    const port = publishedPort(info, vncPort);
    if (!port)
      throw new DriverError(
        "unavailable",
        `the Docker engine published no port for the desktop's VNC port ${vncPort}; check that the template's vnc_port matches its image`,
      );
    let ok = false;
    try {
      const banner = await rfbBanner(port);
      if (banner && bannerMs < 0) bannerMs = Math.round(performance.now() - t0);
      ok = banner && (!cmd || (await execCheck(container, cmd)));
    } catch (err) {
      // The container stopped between inspect and exec: the next inspect says why.
      if (statusOf(err) !== 409 && statusOf(err) !== 500) throw err;
    }
    if (ok) return { port, bannerMs };
    if (signal.aborted)
      throw new DriverError(
        "unavailable",
        `the desktop's health check on VNC port ${vncPort} did not pass before the start's deadline; check the image's VNC server (docker logs ${info.Name.replace(/^\//, "")})`,
      );
    await sleep(pause, undefined, { signal }).catch(() => {});
    // A banner check is one loopback connect: polling it every 100 ms costs nothing, while a
    // longer step would add up to itself to every start.
    pause = Math.min(pause * 2, 100);
  }
}
