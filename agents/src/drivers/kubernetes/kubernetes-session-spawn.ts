/**
 * One session = one Deployment (1 replica) + one Service (+ one PersistentVolumeClaim when the
 * template asks for a persistent home), all named from the session id, so creating them again
 * finds the same objects (409 AlreadyExists is success): a start command delivered twice, or
 * redelivered to a new leader after a crash mid-create, never makes a second desktop.
 *
 * Decisions, documented in agents/README.md:
 * - The Service and the claim are owned by the Deployment, so deleting the Deployment removes
 *   them (the garbage collector does it); hibernation scales to 0 and keeps both.
 * - `persistent_home` gives the session a claim of its own mounted at /home/streamspace: it
 *   survives hibernation and is removed with the session. (A home kept across sessions needs
 *   a template field saying so; none exists yet.)
 * - The template's command becomes the container's args (it replaces the image's CMD, as
 *   `docker run image cmd` does); requests are the template's CPU and memory, and memory is
 *   also the limit, so a desktop that outgrows it is OOMKilled rather than starving its node.
 * - Session pods get no ServiceAccount token and no service links: a desktop has no business
 *   with the API server, and a namespace with a thousand Services would give each pod
 *   thousands of environment variables.
 */
import { createHash } from "node:crypto";
import type { StartSpec } from "../../runtime/driver.ts";
import { LABELS, MANAGED_BY } from "./kubernetes-session-state.ts";

/** Default VNC port of a desktop image when the template names none. */
export const DEFAULT_VNC_PORT = 5900;
/** Size of a session's home claim. */
export const HOME_SIZE = "5Gi";
/** Where the home claim is mounted in the desktop container. */
export const HOME_MOUNT = "/home/streamspace";

const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Session ids become label values, so only those are accepted (UUIDs are). */
export function isValidSessionId(id: string): boolean {
  return LABEL_VALUE.test(id);
}

/** A label value for any string: itself when allowed, else a stable hash of it. */
export function labelValue(s: string): string {
  return LABEL_VALUE.test(s) ? s : `h-${createHash("sha256").update(s).digest("hex").slice(0, 40)}`;
}

/**
 * The Deployment's (and Service's) name: `ss-<id>` when the id is a lower-case DNS label short
 * enough, else `ss-<hash of the id>`, so every id maps to one name and no two ids collide.
 */
export function objectName(sessionId: string): string {
  const direct = `ss-${sessionId}`;
  if (DNS_LABEL.test(sessionId) && direct.length <= 58) return direct;
  return `ss-${createHash("sha256").update(sessionId).digest("hex").slice(0, 32)}`;
}

/** The selector of every object one agent manages in its namespace. */
export function agentSelector(agentId: string): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.agentId}=${labelValue(agentId)}`;
}

function labels(spec: StartSpec, agentId: string): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.sessionId]: spec.sessionId,
    [LABELS.agentId]: labelValue(agentId),
    [LABELS.owner]: labelValue(spec.ownerId),
  };
}

function annotations(spec: StartSpec): Record<string, string> {
  return {
    "streamspace.io/owner": spec.ownerId,
    "streamspace.io/template": spec.template.name || spec.template.id,
  };
}

/** The Deployment of one session. */
export function deploymentFor(spec: StartSpec, agentId: string): object {
  const t = spec.template;
  const name = objectName(spec.sessionId);
  const vncPort = t.vncPort > 0 ? t.vncPort : DEFAULT_VNC_PORT;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (t.resources?.cpuMillis) requests.cpu = `${t.resources.cpuMillis}m`;
  if (t.resources?.memoryBytes) {
    requests.memory = String(t.resources.memoryBytes);
    limits.memory = String(t.resources.memoryBytes);
  }
  const env = Object.entries(t.env).map(([k, v]) => ({ name: k, value: v }));
  if (t.persistentHome) env.push({ name: "HOME", value: HOME_MOUNT });
  const lbls = labels(spec, agentId);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: lbls, annotations: annotations(spec) },
    spec: {
      replicas: 1,
      // One desktop per session, never two during a change, and no old ReplicaSets kept.
      strategy: { type: "Recreate" },
      revisionHistoryLimit: 0,
      selector: {
        matchLabels: { [LABELS.sessionId]: spec.sessionId, [LABELS.managedBy]: MANAGED_BY },
      },
      template: {
        metadata: { labels: lbls, annotations: annotations(spec) },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: "desktop",
              image: t.image,
              ...(t.command.length > 0 ? { args: [...t.command] } : {}),
              env,
              ports: [{ name: "vnc", containerPort: vncPort, protocol: "TCP" }],
              readinessProbe: {
                tcpSocket: { port: "vnc" },
                periodSeconds: 2,
                failureThreshold: 3,
              },
              resources: { requests, limits },
              securityContext: { allowPrivilegeEscalation: false },
              ...(t.persistentHome
                ? { volumeMounts: [{ name: "home", mountPath: HOME_MOUNT }] }
                : {}),
            },
          ],
          ...(t.persistentHome
            ? { volumes: [{ name: "home", persistentVolumeClaim: { claimName: `${name}-home` } }] }
            : {}),
        },
      },
    },
  };
}

function ownedBy(deployment: { name: string; uid: string }) {
  return [
    { apiVersion: "apps/v1", kind: "Deployment", name: deployment.name, uid: deployment.uid },
  ];
}

/**
 * The session's Service, owned by its Deployment: headless, so its DNS name resolves to the
 * pod's address and it takes no cluster IP and no kube-proxy rules on every node — a cluster
 * with thousands of desktops would otherwise spend its service range and its nodes' iptables
 * on Services nobody load-balances through (the agent dials the pod itself).
 */
export function serviceFor(
  spec: StartSpec,
  agentId: string,
  deployment: { name: string; uid: string },
): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: deployment.name,
      labels: labels(spec, agentId),
      annotations: annotations(spec),
      ownerReferences: ownedBy(deployment),
    },
    spec: {
      type: "ClusterIP",
      clusterIP: "None",
      publishNotReadyAddresses: false,
      selector: { [LABELS.sessionId]: spec.sessionId, [LABELS.managedBy]: MANAGED_BY },
      ports: [{ name: "vnc", port: DEFAULT_VNC_PORT, targetPort: "vnc", protocol: "TCP" }],
    },
  };
}

/** The home claim (persistent_home templates), owned by the session's Deployment. */
export function homeClaimFor(
  spec: StartSpec,
  agentId: string,
  deployment: { name: string; uid: string },
): object {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: `${deployment.name}-home`,
      labels: labels(spec, agentId),
      annotations: annotations(spec),
      ownerReferences: ownedBy(deployment),
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: HOME_SIZE } },
    },
  };
}
