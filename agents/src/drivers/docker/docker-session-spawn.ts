/**
 * One session = one container from the template's image, on a user-defined network of its own,
 * with a named volume for the home when the template asks for a persistent one. Every name is
 * derived from the session id and every create treats "already exists" as done, so a
 * redelivered start or a new leader never makes a second desktop.
 *
 * Decisions:
 * - the desktop's VNC port (template `vnc_port`, else 5900) is published on 127.0.0.1 with a
 *   port the Engine picks: the agent reaches it on loopback and tunnels it to the relay as the
 *   local driver does; nothing is exposed beyond the host, and the agent never needs a route to
 *   container addresses. The agent therefore runs on the Docker host (DOCKER_HOST a unix socket
 *   or a loopback tcp address).
 * - the home volume is mounted at /home/streamspace (HOME points there), as the Kubernetes
 *   driver mounts its claim; the Engine gives a fresh volume the container user's ownership.
 * - /tmp is a fresh tmpfs on every start: a woken desktop must not find the last run's X lock,
 *   X socket or port file there (Xvfb would refuse its display), and the desktop images write
 *   nowhere else;
 * - the container has no restart policy: a desktop that exits is reported, not restarted
 *   behind the user's back.
 */

import type { Template } from "@streamspace/proto/streamspace/v1/types_pb";
import type Docker from "dockerode";
import { DriverError, type StartSpec } from "../../runtime/driver.ts";

/** Where a persistent home is mounted in the desktop container. */
export const HOME_MOUNT = "/home/streamspace";
/** Label keys; every container, network and volume of a session carries them. */
export const LABEL = {
  session: "streamspace.session-id",
  agent: "streamspace.agent-id",
  owner: "streamspace.owner",
  template: "streamspace.template-id",
} as const;
/** /dev/shm of a desktop: browsers and X programs need more than the Engine's 64 MiB. */
export const SHM_BYTES = 256 * 1024 * 1024;

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Session ids become container, network and volume names, so only a safe alphabet is accepted. */
export function isValidSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}

/** The names of a session's Engine objects. */
export interface SessionNames {
  container: string;
  network: string;
  volume: string;
}

/** Names keyed by session id (ids are unique across agents, so names never collide). */
export function sessionNames(sessionId: string, networkPrefix: string): SessionNames {
  return {
    container: `streamspace-session-${sessionId}`,
    network: `${networkPrefix}-${sessionId}`,
    volume: `streamspace-home-${sessionId}`,
  };
}

/** The desktop's VNC port inside the container. */
export function vncPortOf(t: Template): number {
  return t.vncPort > 0 ? t.vncPort : 5900;
}

/** An Engine API error's HTTP status, if it is one. */
export function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown })?.statusCode;
  return typeof s === "number" ? s : undefined;
}

/**
 * "Already exists": Docker answers 409; Podman's compatible API answers a network that exists
 * with 500 "network already exists" (and a name in use with 409 or 500 by version).
 */
function isConflict(err: unknown): boolean {
  if (statusOf(err) === 409) return true;
  const msg = (err as { json?: { message?: string } })?.json?.message ?? "";
  return statusOf(err) === 500 && /already exists|already in use/.test(msg);
}

async function tolerateConflict<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isConflict(err)) return undefined;
    throw err;
  }
}

/** The container create body for a session (exported for the tests of its shape). */
export function containerSpec(
  spec: StartSpec,
  agentId: string,
  names: SessionNames,
  healthTest: string[] | undefined,
): Docker.ContainerCreateOptions {
  const t = spec.template;
  const port = `${vncPortOf(t)}/tcp`;
  const env = Object.entries(t.env).map(([k, v]) => `${k}=${v}`);
  env.push(`VNC_PORT=${vncPortOf(t)}`);
  if (t.persistentHome) env.push(`HOME=${HOME_MOUNT}`);
  const labels = {
    [LABEL.session]: spec.sessionId,
    [LABEL.agent]: agentId,
    [LABEL.owner]: spec.ownerId,
    [LABEL.template]: t.id,
  };
  return {
    name: names.container,
    Image: t.image,
    ...(t.command.length > 0 ? { Cmd: [...t.command] } : {}),
    Env: env,
    Labels: labels,
    ExposedPorts: { [port]: {} },
    // The image's own check, run often enough to matter for a start; engines that do not
    // schedule health checks (Podman without systemd) get it run by the driver (session-ready).
    ...(healthTest
      ? {
          Healthcheck: {
            Test: healthTest,
            Interval: 2e9,
            Timeout: 5e9,
            Retries: 3,
            StartPeriod: 0,
          },
        }
      : {}),
    HostConfig: {
      NetworkMode: names.network,
      PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
      ShmSize: SHM_BYTES,
      Tmpfs: { "/tmp": "rw,nosuid,nodev,mode=1777" },
      ...(t.resources?.memoryBytes ? { Memory: Number(t.resources.memoryBytes) } : {}),
      ...(t.resources?.cpuMillis ? { NanoCpus: Number(t.resources.cpuMillis) * 1_000_000 } : {}),
      ...(t.persistentHome
        ? { Mounts: [{ Type: "volume" as const, Source: names.volume, Target: HOME_MOUNT }] }
        : {}),
      RestartPolicy: { Name: "no" },
    },
  };
}

/**
 * Creates the session's network, volume and container, each only if missing, and returns the
 * container. A container that already exists is returned as it is (a redelivered start).
 */
export async function ensureSessionObjects(
  docker: Docker,
  spec: StartSpec,
  agentId: string,
  names: SessionNames,
  healthTest: string[] | undefined,
): Promise<Docker.Container> {
  const labels = {
    [LABEL.session]: spec.sessionId,
    [LABEL.agent]: agentId,
    [LABEL.owner]: spec.ownerId,
  };
  await tolerateConflict(() => docker.createNetwork({ Name: names.network, Labels: labels }));
  if (spec.template.persistentHome)
    await tolerateConflict(() => docker.createVolume({ Name: names.volume, Labels: labels }));
  try {
    return await docker.createContainer(containerSpec(spec, agentId, names, healthTest));
  } catch (err) {
    if (isConflict(err)) return docker.getContainer(names.container);
    throw err;
  }
}

/** Removes a session's container, network and (unless kept) volume; missing ones are fine. */
export async function removeSessionObjects(
  docker: Docker,
  names: SessionNames,
  keepVolume: boolean,
): Promise<void> {
  const gone = (err: unknown) => {
    if (statusOf(err) !== 404) throw err;
  };
  await docker.getContainer(names.container).remove({ force: true, v: false }).catch(gone);
  await docker.getNetwork(names.network).remove().catch(gone);
  if (!keepVolume) await docker.getVolume(names.volume).remove().catch(gone);
}

/** A DriverError for an Engine API failure, keeping the Engine's own words. */
export function engineError(what: string, err: unknown): DriverError {
  const status = statusOf(err);
  const detail =
    (err as { json?: { message?: string } })?.json?.message ??
    (err instanceof Error ? err.message : String(err));
  if (status === undefined)
    return new DriverError(
      "unavailable",
      `the Docker engine did not answer while trying to ${what} (${detail}); try again once it is back`,
      { cause: err },
    );
  return new DriverError(
    status >= 500 ? "unavailable" : "invalid_argument",
    `the Docker engine refused to ${what} (${detail})`,
    { cause: err },
  );
}
