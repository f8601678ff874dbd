/**
 * The test bed's keys and certificates, made with openssl in the bed's own folder: one CA that
 * signs the API server's serving certificate (valid for 127.0.0.1 and the in-cluster names) and
 * the client certificates, and an EC key pair that signs and verifies service-account tokens.
 * A fresh set per bed, so no test bed trusts another's clients.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Paths of everything the components and clients need. */
export interface TestbedCerts {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `openssl ${args[0]} failed${stderr ? `: ${stderr}` : ""}; install it with "apt-get install -y openssl"`,
      { cause: err },
    );
  }
}

/** A P-256 key: small and quick to make, accepted by every component. */
function ecKey(dir: string, name: string): string {
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`], dir);
  // PKCS#8, which every Go and Node TLS stack reads.
  openssl(["pkcs8", "-topk8", "-nocrypt", "-in", `${name}.key`, "-out", `${name}.pk8`], dir);
  return join(dir, `${name}.pk8`);
}

function signed(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): { cert: string; key: string } {
  const key = ecKey(dir, name);
  openssl(["req", "-new", "-key", key, "-subj", subject, "-out", `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.pk8",
      "-CAcreateserial",
      "-days",
      "365",
      "-sha256",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    ],
    dir,
  );
  return { cert: join(dir, `${name}.crt`), key };
}

/**
 * Makes the CA, the serving and admin certificates, and the service-account key pair in `dir`.
 * `serviceIp` is the first address of the service range (the in-cluster `kubernetes` Service).
 */
export function makeTestbedCerts(dir: string, serviceIp: string): TestbedCerts {
  const caKey = ecKey(dir, "ca");
  openssl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      caKey,
      "-subj",
      "/CN=streamspace-k8s-testbed-ca",
      "-days",
      "365",
      "-sha256",
      "-out",
      "ca.crt",
    ],
    dir,
  );
  const names = [
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP:127.0.0.1",
    `IP:${serviceIp}`,
  ];
  const server = signed(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.join(",")}\n`,
  );
  // system:masters: the bed's own components and the tests' admin client act with every right.
  const admin = signed(
    dir,
    "admin",
    "/O=system:masters/CN=streamspace-testbed-admin",
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
  );
  const saKey = ecKey(dir, "service-account");
  openssl(["ec", "-in", saKey, "-pubout", "-out", "service-account.pub"], dir);
  return {
    caCert: join(dir, "ca.crt"),
    caKey,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey: saKey,
    serviceAccountPub: join(dir, "service-account.pub"),
  };
}

/** A kubeconfig with everything inline (no file references), for the admin or a token user. */
export function kubeconfigYaml(opts: {
  server: string;
  caCert: string;
  user: { certFile: string; keyFile: string } | { token: string };
  name?: string;
  namespace?: string;
}): string {
  const b64 = (file: string) => readFileSync(file).toString("base64");
  const name = opts.name ?? "streamspace-testbed";
  const user =
    "token" in opts.user
      ? `    token: ${opts.user.token}\n`
      : `    client-certificate-data: ${b64(opts.user.certFile)}\n    client-key-data: ${b64(opts.user.keyFile)}\n`;
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: ${opts.server}`,
    `    certificate-authority-data: ${b64(opts.caCert)}`,
    "users:",
    `- name: ${name}`,
    "  user:",
    user.trimEnd(),
    "contexts:",
    `- name: ${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}`,
    ...(opts.namespace ? [`    namespace: ${opts.namespace}`] : []),
    `current-context: ${name}`,
    "",
  ].join("\n");
}
