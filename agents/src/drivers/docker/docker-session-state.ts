/**
 * What a session's container says about the session, in words a person can act on: the
 * Engine's own facts (OOM-killed, exit code, a missing image, an unreachable engine) turned into
 * the `reason` a failed or stopped session carries to the control plane and the user.
 */
import type { DriverSession, DriverSessionState } from "../../runtime/driver.ts";

/** The parts of a container's inspect output (or its list entry) the driver reads. */
export interface ContainerFacts {
  name: string;
  running: boolean;
  /** `exited`, `created`, `running`, `paused`, `dead`, … as the Engine names it. */
  status: string;
  exitCode: number;
  oomKilled: boolean;
  /** The Engine's own error text (a failed start), if any. */
  error: string;
  /** The template's memory limit, from the container's HostConfig (0 = none). */
  memoryBytes: number;
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

/**
 * Why a container that stopped on its own ended, and whether that is a failure. Podman on
 * cgroup v1 does not always flag OOM kills (`OOMKilled` stays false), so exit code 137 — a
 * SIGKILL nobody in StreamSpace sent — under a memory limit is reported as the likely OOM kill
 * it is, saying so.
 */
export function exitReason(c: ContainerFacts): { state: DriverSessionState; reason: string } {
  const logs = `the container's logs (docker logs ${c.name})`;
  if (c.oomKilled)
    return {
      state: "failed",
      reason: `the desktop ran out of memory and was killed by the kernel (OOM-killed${c.memoryBytes ? `, limit ${mib(c.memoryBytes)}` : ""}); give the template more memory or run fewer programs in it`,
    };
  if (c.exitCode === 137 && c.memoryBytes > 0)
    return {
      state: "failed",
      reason: `the desktop was killed (SIGKILL, exit code 137) under its ${mib(c.memoryBytes)} memory limit, most likely out of memory; give the template more memory, or check ${logs}`,
    };
  if (c.error)
    return {
      state: "failed",
      reason: `the Docker engine could not run the desktop (${c.error}); check the template's image and command`,
    };
  if (c.exitCode === 0)
    return {
      state: "stopped",
      reason: "the desktop's program ended (exit code 0); start a new session to continue",
    };
  return {
    state: "failed",
    reason: `the desktop exited with code ${c.exitCode}${c.exitCode > 128 ? ` (signal ${c.exitCode - 128})` : ""}; check the template's image and command, and ${logs}`,
  };
}

/** A start refused because the template's image is not on the host and could not be pulled. */
export function imageMissingReason(image: string, pullError?: string): string {
  return `the desktop image ${image} is not on this Docker host${pullError ? ` and could not be pulled (${pullError})` : ""}; build or load it on the host (docker load, or deploy/images/build.sh), or fix the template's image name`;
}

/** Why new sessions are refused while the Engine does not answer. */
export function engineDownReason(dockerHost: string, cause: string): string {
  return `the Docker engine at ${dockerHost} does not answer (${cause}); start it (systemctl start docker, or podman system service) — sessions resume when it is back`;
}

/** A session as the driver tracks it. */
export interface TrackedSession {
  sessionId: string;
  state: "running" | "hibernated";
  /** The loopback port the Engine published the desktop's VNC port on. */
  port?: number;
}

/** The driver's view of a tracked session. */
export function toDriverSession(s: TrackedSession): DriverSession {
  if (s.state === "running" && s.port)
    return {
      sessionId: s.sessionId,
      state: "running",
      endpoint: { host: "127.0.0.1", port: s.port },
    };
  return { sessionId: s.sessionId, state: s.state };
}
