/**
 * A quota the API server has not counted yet ("status unknown for quota") is a short wait, not
 * a full namespace and not missing RBAC: the error and the Deployment condition say so.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DriverError } from "../../runtime/driver.ts";
import { kubeFailure } from "./kube-errors.ts";
import { deploymentFailure, type SessionDeployment } from "./kubernetes-session-state.ts";

const forbidden = (message: string) => ({
  code: 403,
  body: JSON.stringify({ kind: "Status", reason: "Forbidden", message }),
});
const action = { verb: "create", resource: "deployments", namespace: "ns" } as const;

test("403 from an uncounted quota is a retryable unavailable, not an RBAC failure", () => {
  const e = kubeFailure(
    forbidden(
      'deployments.apps "d" is forbidden: status unknown for quota: limits, resources: count/deployments.apps',
    ),
    action,
  );
  assert.ok(e instanceof DriverError);
  assert.equal(e.code, "unavailable");
  assert.match(e.message, /has not been counted yet .*start the session again/);
  assert.doesNotMatch(e.message, /Role/);
});

test("403 from a full quota is capacity; any other 403 names the Role", () => {
  const full = kubeFailure(
    forbidden(
      'deployments.apps "d" is forbidden: exceeded quota: limits, requested: count/deployments.apps=1',
    ),
    action,
  );
  assert.equal(full.code, "capacity");
  const rbac = kubeFailure(forbidden("User cannot create resource"), action);
  assert.match(rbac.message, /agent-rbac\.yaml/);
});

test("a ReplicaFailure from an uncounted quota is a wait; from a full quota, a failure", () => {
  const dep = (message: string): SessionDeployment => ({
    name: "d",
    uid: "u",
    sessionId: "s",
    replicas: 1,
    deleting: false,
    vncPort: 5900,
    conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message }],
  });
  assert.equal(
    deploymentFailure(dep('pods "p" is forbidden: status unknown for quota: limits')),
    undefined,
  );
  assert.match(
    deploymentFailure(dep('pods "p" is forbidden: exceeded quota: limits')) ?? "",
    /ResourceQuota refuses the desktop's pod/,
  );
});
