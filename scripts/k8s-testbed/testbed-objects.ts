/**
 * Objects tests ask the bed for: throwaway namespaces, and identities other than the admin
 * (a ServiceAccount with a short-lived token from the TokenRequest API, as a pod would get),
 * so a test can run the agent with exactly the RBAC an operator would grant it.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AdminCredentials, apiCall, apiMust, waitUntil } from "./testbed-api.ts";
import { kubeconfigYaml } from "./testbed-certs.ts";

/** Creates `<prefix>-<random>` and waits for its default ServiceAccount (pods need it). */
export async function createNamespace(admin: AdminCredentials, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString("hex")}`.toLowerCase();
  await apiMust(admin, "POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels: { "streamspace.io/test": "true" } },
  });
  await waitUntil(
    `the default ServiceAccount of namespace ${name}`,
    async () => {
      const a = await apiCall(admin, "GET", `/api/v1/namespaces/${name}/serviceaccounts/default`);
      return a.status === 200 ? true : undefined;
    },
    60_000,
  );
  return name;
}

/**
 * Creates ServiceAccount `name` in `namespace` (if missing) and writes a kubeconfig that
 * authenticates with a one-hour token for it; returns the file's path.
 */
export async function createServiceAccountKubeconfig(
  admin: AdminCredentials,
  dir: string,
  namespace: string,
  name: string,
): Promise<string> {
  await apiMust(
    admin,
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts`,
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
    { existsOk: true },
  );
  const tr = (await apiMust(
    admin,
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 3600 },
    },
  )) as { status?: { token?: string } };
  const token = tr.status?.token;
  if (!token) throw new Error(`the TokenRequest for ${namespace}/${name} returned no token`);
  const file = join(dir, `kubeconfig-${namespace}-${name}`);
  writeFileSync(
    file,
    kubeconfigYaml({ server: admin.server, caCert: admin.caCert, user: { token }, namespace }),
    { mode: 0o600 },
  );
  return file;
}
