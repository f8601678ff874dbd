/**
 * Applies the agent's documented RBAC (deploy/kubernetes/agent-rbac.yaml) to a namespace of
 * the test bed under another name, optionally trimmed, so tests and benchmarks run the agent
 * as the ServiceAccount an operator would create — not as the bed's all-powerful admin.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadAllYaml } from "@kubernetes/client-node";
import { type AdminCredentials, apiMust } from "../../../../scripts/k8s-testbed/testbed-api.ts";

/** The Role's rules, as the YAML has them. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { name: string };
  subjects?: { name?: string; namespace?: string }[];
}

const RBAC_YAML = new URL("../../../../deploy/kubernetes/agent-rbac.yaml", import.meta.url);

const COLLECTIONS: Record<string, string> = {
  ServiceAccount: "/api/v1/namespaces/NS/serviceaccounts",
  Role: "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles",
  RoleBinding: "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings",
};

/**
 * Creates the ServiceAccount, Role and RoleBinding of the documented file in `ns`, all named
 * `name`; `trim` rewrites each rule (return [] to drop it) to make a Role with less.
 */
export async function applyAgentRbac(
  admin: AdminCredentials,
  ns: string,
  name: string,
  trim?: (rule: PolicyRule) => PolicyRule[],
): Promise<void> {
  const docs = loadAllYaml(readFileSync(RBAC_YAML, "utf8")) as Obj[];
  assert.deepEqual(
    docs.map((d) => d.kind),
    ["ServiceAccount", "Role", "RoleBinding"],
  );
  for (const d of docs) {
    const o = structuredClone(d);
    o.metadata = { ...o.metadata, name, namespace: ns };
    if (o.rules && trim) o.rules = o.rules.flatMap(trim);
    if (o.roleRef) o.roleRef.name = name;
    for (const s of o.subjects ?? []) Object.assign(s, { name, namespace: ns });
    await apiMust(admin, "POST", (COLLECTIONS[o.kind] ?? "").replace("NS", ns), o);
  }
}
