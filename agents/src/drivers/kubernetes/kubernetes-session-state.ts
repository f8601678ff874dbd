/**
 * What a session's Deployment and pods say about it, as the driver reports it: running (a pod
 * is Ready, with its address), hibernated (scaled to 0 and no pod left), failed (with the
 * cluster's reason turned into a sentence a person can act on), or still on its way.
 *
 * Which conditions are final is a decision, written down here: a pod that cannot be scheduled
 * for want of resources, an image that cannot be pulled, a container that keeps crashing or is
 * killed for memory, a Deployment whose pods the namespace refuses (quota, admission) or that
 * missed its progress deadline — each fails the session at once, because waiting would not fix
 * it and the person starting the desktop deserves to know why. Scheduling that waits on a
 * volume is not final: the home volume is created a moment after the Deployment and bound by
 * the cluster, so that wait is bounded by the command's deadline instead.
 */
import type { DriverSession } from "../../runtime/driver.ts";
import type { RawObject } from "./kube-informer.ts";

/** The labels every session object carries. */
export const LABELS = {
  managedBy: "app.kubernetes.io/managed-by",
  sessionId: "streamspace.io/session-id",
  agentId: "streamspace.io/agent-id",
  owner: "streamspace.io/owner",
} as const;

/** The value of app.kubernetes.io/managed-by on every object the driver makes. */
export const MANAGED_BY = "streamspace";

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** The part of a Deployment the driver reads. */
export interface SessionDeployment {
  name: string;
  uid: string;
  sessionId: string;
  replicas: number;
  deleting: boolean;
  vncPort: number;
  conditions: Condition[];
}

/** The part of a Pod the driver reads. */
export interface SessionPod {
  name: string;
  sessionId: string;
  deleting: boolean;
  podIp?: string;
  ready: boolean;
  phase: string;
  /** PodScheduled=False: why the scheduler has not placed it. */
  unschedulable?: string;
  containers: ContainerView[];
}

interface ContainerView {
  name: string;
  image: string;
  waiting?: { reason: string; message: string };
  lastTerminated?: { reason: string; exitCode: number };
  restartCount: number;
}

type Raw = RawObject & {
  metadata?: {
    uid?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: unknown;
  };
  spec?: {
    replicas?: number;
    template?: {
      spec?: { containers?: { ports?: { name?: string; containerPort?: number }[] }[] };
    };
  };
  status?: {
    conditions?: Condition[];
    phase?: string;
    podIP?: string;
    containerStatuses?: {
      name?: string;
      image?: string;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string } };
      lastState?: { terminated?: { reason?: string; exitCode?: number } };
    }[];
  };
};

const cond = (c: Condition): Condition => ({
  type: c.type,
  status: c.status,
  reason: c.reason,
  message: c.message,
});

/** Keeps what the driver needs of a Deployment. */
export function toSessionDeployment(obj: RawObject): SessionDeployment {
  const raw = obj as Raw;
  const ports = raw.spec?.template?.spec?.containers?.[0]?.ports ?? [];
  return {
    name: raw.metadata?.name ?? "",
    uid: raw.metadata?.uid ?? "",
    sessionId: raw.metadata?.labels?.[LABELS.sessionId] ?? "",
    replicas: raw.spec?.replicas ?? 1,
    deleting: raw.metadata?.deletionTimestamp != null,
    vncPort: ports.find((p) => p.name === "vnc")?.containerPort ?? 5900,
    conditions: (raw.status?.conditions ?? []).map(cond),
  };
}

/** Keeps what the driver needs of a Pod. */
export function toSessionPod(obj: RawObject): SessionPod {
  const raw = obj as Raw;
  const conds = raw.status?.conditions ?? [];
  const scheduled = conds.find((c) => c.type === "PodScheduled");
  return {
    name: raw.metadata?.name ?? "",
    sessionId: raw.metadata?.labels?.[LABELS.sessionId] ?? "",
    deleting: raw.metadata?.deletionTimestamp != null,
    podIp: raw.status?.podIP || undefined,
    ready: conds.some((c) => c.type === "Ready" && c.status === "True"),
    phase: raw.status?.phase ?? "Pending",
    unschedulable:
      scheduled?.status === "False" && scheduled.reason === "Unschedulable"
        ? (scheduled.message ?? "no node can take it")
        : undefined,
    containers: (raw.status?.containerStatuses ?? []).map((c) => ({
      name: c.name ?? "",
      image: c.image ?? "",
      restartCount: c.restartCount ?? 0,
      waiting: c.state?.waiting?.reason
        ? { reason: c.state.waiting.reason, message: c.state.waiting.message ?? "" }
        : undefined,
      lastTerminated: c.lastState?.terminated?.reason
        ? {
            reason: c.lastState.terminated.reason,
            exitCode: c.lastState.terminated.exitCode ?? 0,
          }
        : undefined,
    })),
  };
}

/** Why a pod can never become ready as it is, in words a person can act on; else undefined. */
export function podFailure(pod: SessionPod): string | undefined {
  if (pod.unschedulable && !/volume|persistentvolumeclaim/i.test(pod.unschedulable)) {
    return `no node can run the desktop (Unschedulable: ${pod.unschedulable}); ask an operator to add or free nodes, or choose a template that asks for less CPU or memory`;
  }
  for (const c of pod.containers) {
    const w = c.waiting;
    if (c.lastTerminated?.reason === "OOMKilled") {
      return `the desktop ran out of memory and was killed (OOMKilled, restarted ${c.restartCount} times); choose a template with more memory`;
    }
    if (!w) continue;
    switch (w.reason) {
      case "ImagePullBackOff":
      case "ErrImagePull":
        return `the desktop image ${c.image} cannot be pulled (${w.reason}: ${w.message || "no detail"}); check the template's image name and the registry's credentials`;
      case "InvalidImageName":
        return `the template's image name ${c.image} is not valid (${w.message}); fix the template`;
      case "CrashLoopBackOff":
        return `the desktop keeps crashing (CrashLoopBackOff${c.lastTerminated ? `, last exit: ${c.lastTerminated.reason} code ${c.lastTerminated.exitCode}` : ""}, restarted ${c.restartCount} times); check the template's image and command, and the container's logs`;
      case "CreateContainerConfigError":
      case "CreateContainerError":
        return `the desktop container cannot be created (${w.reason}: ${w.message}); check the template's environment and the secrets or config maps it names`;
    }
  }
  if (pod.phase === "Failed")
    return "the desktop's pod failed (phase Failed); start the session again";
  return undefined;
}

/** Why a Deployment can never make its pod as it is (quota, admission, progress deadline). */
export function deploymentFailure(dep: SessionDeployment): string | undefined {
  const failure = dep.conditions.find((c) => c.type === "ReplicaFailure" && c.status === "True");
  // "status unknown for quota": the quota is not counted yet and the ReplicaSet controller
  // retries by itself, so that condition is a wait, not a failure.
  if (failure && !/status unknown for quota/i.test(failure.message ?? "")) {
    const quota = /exceeded quota/i.test(failure.message ?? "");
    return quota
      ? `the namespace's ResourceQuota refuses the desktop's pod (${failure.message}); stop other sessions or ask an operator to raise the quota`
      : `the cluster refuses to create the desktop's pod (${failure.reason}: ${failure.message}); ask an operator to check the namespace's admission policies`;
  }
  const progress = dep.conditions.find((c) => c.type === "Progressing" && c.status === "False");
  if (progress?.reason === "ProgressDeadlineExceeded") {
    return `the desktop did not become ready within the Deployment's progress deadline (${progress.message}); start it again or ask an operator to check the cluster`;
  }
  return undefined;
}

/** A session as its objects show it. */
export type ObservedSession =
  | { phase: "absent" }
  | { phase: "deleting" }
  | { phase: "running"; host: string; port: number }
  | { phase: "hibernated" }
  /** Scaled to 0 but a pod is still terminating. */
  | { phase: "hibernating" }
  | { phase: "failed"; reason: string }
  /** On its way to running (scheduling, pulling, starting); `waitingOn` says where it is. */
  | { phase: "starting"; waitingOn: string };

/** Reads the phase of one session from its Deployment and its pods. */
export function observeSession(
  dep: SessionDeployment | undefined,
  pods: readonly SessionPod[],
): ObservedSession {
  if (!dep) return { phase: "absent" };
  if (dep.deleting) return { phase: "deleting" };
  const live = pods.filter((p) => !p.deleting);
  if (dep.replicas === 0)
    return pods.length === 0 ? { phase: "hibernated" } : { phase: "hibernating" };
  const ready = live.find((p) => p.ready && p.podIp);
  if (ready?.podIp) return { phase: "running", host: ready.podIp, port: dep.vncPort };
  for (const p of live) {
    const reason = podFailure(p);
    if (reason) return { phase: "failed", reason };
  }
  const depReason = deploymentFailure(dep);
  if (depReason) return { phase: "failed", reason: depReason };
  const p = live[0];
  const waitingOn = !p
    ? "waiting for its pod to be created"
    : p.unschedulable
      ? `waiting to be scheduled: ${p.unschedulable}`
      : p.podIp
        ? "waiting for the desktop to accept VNC connections"
        : "waiting for the pod to start";
  return { phase: "starting", waitingOn };
}

/** Stands for a session on its way somewhere: known, but nothing to report yet. */
export const IN_FLUX = "in flux";

/** What a report of this phase would say, to report each change once. */
export function reportKey(o: ObservedSession): string {
  switch (o.phase) {
    case "running":
      return `running ${o.host}:${o.port}`;
    case "hibernated":
      return "hibernated";
    case "failed":
      return `failed ${o.reason}`;
    default:
      return IN_FLUX;
  }
}

/**
 * The inventory entry of a session. One still starting (or waking) is reported running without
 * an endpoint: the command that started it finishes the job when it is redelivered, and a
 * session left out of a Hello would be failed as lost.
 */
export function toDriverSession(id: string, o: ObservedSession): DriverSession | undefined {
  switch (o.phase) {
    case "running":
      return { sessionId: id, state: "running", endpoint: { host: o.host, port: o.port } };
    case "starting":
      return { sessionId: id, state: "running" };
    case "hibernated":
    case "hibernating":
      return { sessionId: id, state: "hibernated" };
    case "failed":
      return { sessionId: id, state: "failed", reason: o.reason };
    default:
      return undefined;
  }
}
