/**
 * Kubernetes API errors as DriverErrors whose message a person can act on. The runtime turns a
 * DriverError into a failed CommandResult, so a refused call becomes a precise command failure
 * ("the agent may not create deployments in namespace x …"), never a crash or a stack trace.
 */
import { apiStatusOf } from "../../ha/kubernetes-client.ts";
import { DriverError } from "../../runtime/driver.ts";

/** What the agent was doing: verb and resource, as RBAC names them. */
export interface KubeAction {
  verb: "create" | "get" | "list" | "watch" | "patch" | "delete" | "update";
  resource: string;
  namespace: string;
  name?: string;
}

/** The Role the agent needs (deploy/kubernetes/agent-rbac.yaml), named in RBAC failures. */
export const RBAC_FILE = "deploy/kubernetes/agent-rbac.yaml";

/** Maps any error of an API call to a DriverError. */
export function kubeFailure(err: unknown, a: KubeAction): DriverError {
  if (err instanceof DriverError) return err;
  const s = apiStatusOf(err);
  const what = `${a.verb} ${a.resource}${a.name ? ` ${a.name}` : ""} in namespace ${a.namespace}`;
  switch (s.code) {
    case 401:
      return new DriverError(
        "unavailable",
        `the Kubernetes API refused the agent's credentials (401) when it tried to ${what}; renew the agent's token or kubeconfig`,
        { cause: err },
      );
    case 403:
      // A quota the controller has not counted yet refuses everything it constrains for a
      // moment; that is transient, not a full namespace.
      if (/status unknown for quota/i.test(s.message)) {
        return new DriverError(
          "unavailable",
          `the namespace's ResourceQuota has not been counted yet (${s.message}); start the session again in a few seconds`,
          { cause: err },
        );
      }
      if (/exceeded quota/i.test(s.message)) {
        return new DriverError(
          "capacity",
          `the namespace's ResourceQuota refuses it (${s.message}); stop other sessions or ask an operator to raise the quota`,
          { cause: err },
        );
      }
      return new DriverError(
        "unavailable",
        `the agent is not allowed to ${what} (403 Forbidden: ${s.message}); grant its ServiceAccount the Role in ${RBAC_FILE}`,
        { cause: err },
      );
    case 404:
      return new DriverError(
        "not_found",
        `could not ${what}: ${s.message}; check that namespace ${a.namespace} exists (NAMESPACE)`,
        { cause: err },
      );
    case 409:
      return new DriverError(
        "invalid_state",
        `could not ${what} because it changed meanwhile (409 Conflict: ${s.message}); retry the command`,
        { cause: err },
      );
    case 400:
    case 422:
      return new DriverError(
        "invalid_argument",
        `the cluster rejects the session's ${a.resource} as invalid (${s.code}: ${s.message}); fix the template (image, environment names, resources)`,
        { cause: err },
      );
    case 429:
      return new DriverError(
        "unavailable",
        `the Kubernetes API is throttling the agent (429) while it tried to ${what}; retry shortly`,
        { cause: err },
      );
    default:
      return new DriverError(
        "unavailable",
        s.code
          ? `the Kubernetes API failed to ${what} (${s.code}: ${s.message}); retry the command`
          : `the Kubernetes API could not be reached to ${what} (${s.message}); check the agent's network path to the API server`,
        { cause: err },
      );
  }
}

/** True when the error is the server saying the object already exists (idempotent creates). */
export function isAlreadyExists(err: unknown): boolean {
  const s = apiStatusOf(err);
  return s.code === 409 && (s.reason === "AlreadyExists" || /already exists/i.test(s.message));
}

/** True when the object is not there (idempotent deletes). */
export function isNotFound(err: unknown): boolean {
  return apiStatusOf(err).code === 404;
}
