/**
 * The API writes of a session's lifecycle, each idempotent: create the Deployment (adopting one
 * an earlier delivery of the command made), create its Service and home claim (what exists is
 * kept), scale it, delete it in the foreground. Every failure comes back as a DriverError that
 * names the verb, resource and namespace (kube-errors.ts). Reads are the informers' business.
 */
import type { KubeClients } from "../../ha/kubernetes-client.ts";
import { DriverError, type StartSpec } from "../../runtime/driver.ts";
import { isAlreadyExists, isNotFound, type KubeAction, kubeFailure } from "./kube-errors.ts";
import { deploymentFor, homeClaimFor, objectName, serviceFor } from "./kubernetes-session-spawn.ts";
import { type SessionDeployment, toSessionDeployment } from "./kubernetes-session-state.ts";

/** Writes of one agent's session objects in one namespace. */
export class SessionObjects {
  constructor(
    private readonly clients: KubeClients,
    private readonly namespace: string,
    private readonly agentId: string,
  ) {}

  private action(verb: KubeAction["verb"], resource: string, name?: string): KubeAction {
    return { verb, resource, namespace: this.namespace, name };
  }

  /** Creates the session's Deployment, or adopts the one of the same session that exists. */
  async createDeployment(spec: StartSpec): Promise<SessionDeployment> {
    const name = objectName(spec.sessionId);
    const ns = this.namespace;
    try {
      const body = deploymentFor(spec, this.agentId);
      const created = await this.clients.apps.createNamespacedDeployment({ namespace: ns, body });
      return toSessionDeployment(created as never);
    } catch (err) {
      if (!isAlreadyExists(err)) throw kubeFailure(err, this.action("create", "deployments", name));
      // Made by an earlier delivery of this command (or a previous leader): adopt it.
      const found = await this.clients.apps
        .readNamespacedDeployment({ name, namespace: ns })
        .catch((e) => {
          throw kubeFailure(e, this.action("get", "deployments", name));
        });
      const dep = toSessionDeployment(found as never);
      if (dep.sessionId !== spec.sessionId)
        throw new DriverError(
          "invalid_state",
          `a Deployment named ${name} exists in namespace ${ns} but belongs to another session or to nobody; delete it or use another NAMESPACE`,
        );
      return dep;
    }
  }

  /** Creates the Service and home claim owned by `dep` (what exists is kept). */
  async ensureCompanions(spec: StartSpec, dep: SessionDeployment): Promise<void> {
    const ns = this.namespace;
    const owner = { name: dep.name, uid: dep.uid };
    const create = async (resource: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        if (!isAlreadyExists(err))
          throw kubeFailure(err, this.action("create", resource, dep.name));
      }
    };
    await Promise.all([
      create("services", () =>
        this.clients.core.createNamespacedService({
          namespace: ns,
          body: serviceFor(spec, this.agentId, owner),
        }),
      ),
      spec.template.persistentHome
        ? create("persistentvolumeclaims", () =>
            this.clients.core.createNamespacedPersistentVolumeClaim({
              namespace: ns,
              body: homeClaimFor(spec, this.agentId, owner),
            }),
          )
        : undefined,
    ]);
  }

  /** Sets the Deployment's replicas (0 = hibernated, 1 = running). */
  async scale(name: string, replicas: number): Promise<void> {
    try {
      await this.clients.apps.patchNamespacedDeployment({
        name,
        namespace: this.namespace,
        body: [{ op: "replace", path: "/spec/replicas", value: replicas }],
      });
    } catch (err) {
      throw kubeFailure(err, this.action("patch", "deployments", name));
    }
  }

  /** Deletes the Deployment in the foreground (its pods go first); 404 is fine. */
  async deleteDeployment(name: string): Promise<void> {
    try {
      await this.clients.apps.deleteNamespacedDeployment({
        name,
        namespace: this.namespace,
        propagationPolicy: "Foreground",
      });
    } catch (err) {
      if (!isNotFound(err)) throw kubeFailure(err, this.action("delete", "deployments", name));
    }
  }
}
