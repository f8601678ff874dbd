/**
 * What the chart's tests share: the check tools from deploy/helm/scripts/tools.sh's cache (the
 * tests fail with the build command when they are missing, never skip), rendering the chart,
 * and the offline schemas kubeconform validates against.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments, parse as parseYaml } from "yaml";

const run = promisify(execFile);
const HERE = resolve(new URL(".", import.meta.url).pathname);
export const CHART = resolve(HERE, "../streamspace");
export const REPO = resolve(HERE, "../../..");
/** The Kubernetes version the chart is rendered for (the test bed's). */
export const KUBE_VERSION = "1.34.4";

/** A rendered Kubernetes object (only what the tests read is typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are free-form
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are free-form
  data?: any;
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are free-form
  rules?: any;
}

/** The cache folder of tools.sh (bin/, schemas/, crds/); throws with the build command. */
export function toolsDir(): string {
  try {
    const bin = execFileSync("bash", [join(CHART, "../scripts/tools.sh"), "--print-bin"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
    return dirname(bin);
  } catch (err) {
    const why = (err as { stderr?: string }).stderr?.trim();
    throw new Error(
      `the chart's check tools are not built (${why}); run "bash deploy/helm/scripts/tools.sh" once (helm ~4 min cold, cached by version).`,
    );
  }
}

export const tool = (name: "helm" | "kubeconform" | "promtool") => join(toolsDir(), "bin", name);

/** Runs a tool; resolves with stdout, rejects with its stderr in the message. */
export async function sh(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<string> {
  try {
    const p = run(cmd, args, {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      timeout: opts.timeoutMs ?? 300_000,
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
    });
    if (opts.input !== undefined) {
      p.child.stdin?.end(opts.input);
    }
    return (await p).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** `helm template` of the chart; `args` are --set/-f flags. */
export function renderChart(release: string, args: string[] = [], namespace = "default") {
  return sh(tool("helm"), [
    "template",
    release,
    CHART,
    "--namespace",
    namespace,
    "--kube-version",
    KUBE_VERSION,
    ...args,
  ]);
}

/** The objects of a multi-document manifest. */
export function parseManifest(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o?.kind);
}

export const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);

export function find(objs: K8sObject[], kind: string, nameSuffix: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name.endsWith(nameSuffix));
  if (!o) throw new Error(`no ${kind} named *${nameSuffix} in the rendered chart`);
  return o;
}

/** Pins an object in a CRD's schema down to the fields it declares, as kubeconform's
 *  -strict does for built-in kinds (unknown fields are then errors). */
function strictify(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (Array.isArray(v)) {
      out[k] = v.map((x) => (x && typeof x === "object" ? strictify(x) : x));
    } else if (v && typeof v === "object") {
      out[k] = strictify(v as Record<string, unknown>);
    } else {
      out[k] = v;
    }
  }
  if (
    out.properties &&
    out.additionalProperties === undefined &&
    !out["x-kubernetes-preserve-unknown-fields"]
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/**
 * A folder of JSON schemas for the prometheus-operator CRDs in kubeconform's naming
 * (`servicemonitor_v1.json`), made from the CRDs tools.sh fetched.
 */
export function crdSchemaDir(): string {
  const crds = join(toolsDir(), "crds", "current");
  const out = join(toolsDir(), "schemas", "crds");
  mkdirSync(out, { recursive: true });
  for (const f of [
    "monitoring.coreos.com_servicemonitors",
    "monitoring.coreos.com_prometheusrules",
  ]) {
    const crd = parseYaml(readFileSync(join(crds, `${f}.yaml`), "utf8"));
    for (const v of crd.spec.versions) {
      const file = join(out, `${crd.spec.names.kind.toLowerCase()}_${v.name}.json`);
      if (existsSync(file)) continue;
      writeFileSync(file, JSON.stringify(strictify(v.schema.openAPIV3Schema)));
    }
  }
  return out;
}

/** kubeconform -strict, offline: built-in kinds from the wheel's schemas, CRDs from ours. */
export function kubeconform(manifest: string): Promise<string> {
  const dir = toolsDir();
  return sh(
    tool("kubeconform"),
    [
      "-strict",
      "-summary",
      "-output",
      "text",
      "-schema-location",
      `${join(dir, "schemas", "kubernetes")}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      "-schema-location",
      `${crdSchemaDir()}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
      "-",
    ],
    { input: manifest },
  );
}

/** The prometheus-operator CRD files, for installing them on the test bed. */
export function monitoringCrdFiles(): string[] {
  const crds = join(toolsDir(), "crds", "current");
  return [
    join(crds, "monitoring.coreos.com_servicemonitors.yaml"),
    join(crds, "monitoring.coreos.com_prometheusrules.yaml"),
  ];
}
