/**
 * The agent's connection to a Kubernetes API server (used by the Lease backend here and by
 * drivers/kubernetes, which may import ha/ but not the reverse), through @kubernetes/client-node 1.4 (2.x
 * needs a newer Node). Credentials come from KUBECONFIG when set, else from the pod's
 * ServiceAccount (in-cluster), else from ~/.kube/config; with none of them the driver refuses
 * to start, because the library would otherwise quietly aim at http://localhost:8080.
 *
 * Every typed call goes through one middleware that (a) reuses one keep-alive TLS agent (the
 * library makes a fresh agent, so a fresh TLS handshake, per request), (b) bounds each call
 * with a timeout (the library sets none), and (c) counts requests, which the benchmarks report
 * as API requests per session. Watches are counted by the informers that open them.
 */
import { existsSync } from "node:fs";
import { Agent } from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  KubeConfig,
  type RequestContext,
  type ResponseContext,
  ServerConfiguration,
  Watch,
} from "@kubernetes/client-node";

/** How long one API call may take before it fails (a watch is not a call; it has its own timer). */
export const KUBE_REQUEST_TIMEOUT_MS = 30_000;

/** Counts of what a driver or lease backend asked the API server, by verb. */
export class RequestCounter {
  readonly byVerb = new Map<string, number>();
  get total(): number {
    let n = 0;
    for (const v of this.byVerb.values()) n += v;
    return n;
  }
  add(verb: string): void {
    this.byVerb.set(verb, (this.byVerb.get(verb) ?? 0) + 1);
  }
}

/** The typed clients one agent process needs, sharing one connection pool and one counter. */
export interface KubeClients {
  config: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  watch: Watch;
  requests: RequestCounter;
  /** Closes pooled connections. */
  close(): void;
}

/**
 * Loads credentials: `kubeconfig` (a path) or KUBECONFIG, else in-cluster, else
 * ~/.kube/config. Throws a sentence saying what to set when there are none.
 */
export function loadKubeConfig(kubeconfig = process.env.KUBECONFIG): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) {
    const first = kubeconfig.split(":").find(Boolean) ?? kubeconfig;
    if (!existsSync(first))
      throw new Error(
        `KUBECONFIG names ${first}, which does not exist; point it at a kubeconfig file`,
      );
    kc.loadFromFile(first);
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else if (existsSync(join(homedir(), ".kube", "config"))) {
    kc.loadFromFile(join(homedir(), ".kube", "config"));
  } else {
    throw new Error(
      "no Kubernetes credentials: set KUBECONFIG to a kubeconfig file, or run the agent in a pod with a ServiceAccount",
    );
  }
  if (!kc.getCurrentCluster())
    throw new Error("the kubeconfig has no current cluster; set its current-context");
  return kc;
}

/** Builds the clients over `kc`. */
export function createKubeClients(kc: KubeConfig, requests = new RequestCounter()): KubeClients {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster; set its current-context");
  let pooled: Agent | undefined;
  const middleware = {
    async pre(ctx: RequestContext): Promise<RequestContext> {
      requests.add(ctx.getHttpMethod().toString());
      // The library has just put a one-off agent with the cluster's TLS settings on the request;
      // one keep-alive agent with the same settings serves every request instead.
      const fresh = ctx.getAgent();
      if (fresh instanceof Agent) {
        pooled ??= new Agent({ ...fresh.options, keepAlive: true, maxSockets: 16 });
        ctx.setAgent(pooled);
      }
      if (!ctx.getSignal()) ctx.setSignal(AbortSignal.timeout(KUBE_REQUEST_TIMEOUT_MS));
      return ctx;
    },
    async post(rsp: ResponseContext): Promise<ResponseContext> {
      return rsp;
    },
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [middleware],
  });
  return {
    config: kc,
    apps: new AppsV1Api(configuration),
    core: new CoreV1Api(configuration),
    coordination: new CoordinationV1Api(configuration),
    watch: new Watch(kc),
    requests,
    close: () => pooled?.destroy(),
  };
}

/** What an API error says: the HTTP code and the server's Status (reason, message, details). */
export interface ApiStatus {
  code: number;
  reason: string;
  message: string;
  /** For 409/422: the kind and name the server refused. */
  kind?: string;
  name?: string;
}

/**
 * Reads an error thrown by a typed call (ApiException carries the code and the Status body as
 * text) or by the transport (code 0). Never throws.
 */
export function apiStatusOf(err: unknown): ApiStatus {
  const e = err as { code?: unknown; body?: unknown; message?: string; name?: string };
  const code = typeof e?.code === "number" ? e.code : 0;
  let body: { reason?: string; message?: string; details?: { kind?: string; name?: string } } = {};
  if (typeof e?.body === "string") {
    try {
      body = JSON.parse(e.body);
    } catch {
      body = { message: e.body };
    }
  } else if (e?.body && typeof e.body === "object") body = e.body as typeof body;
  const transport =
    e?.name === "AbortError" ? "the request timed out" : (e?.message ?? String(err));
  return {
    code,
    reason: body.reason ?? "",
    message: (body.message ?? (code === 0 ? transport : `HTTP ${code}`)).trim(),
    kind: body.details?.kind,
    name: body.details?.name,
  };
}
