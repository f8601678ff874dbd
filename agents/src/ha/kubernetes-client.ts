/**
 * The agent's connection to a Kubernetes API server (used by the Lease backend here and by
 * drivers/kubernetes, which may import ha/ but not the reverse), through @kubernetes/client-node 1.4 (2.x
 * needs a newer Node). Credentials come from KUBECONFIG when set, else from the pod's
 * ServiceAccount (in-cluster), else from ~/.kube/config; with none of them the driver refuses
 * to start, because the library would otherwise quietly aim at http://localhost:8080.
 *
 * Every typed call goes through one transport (pooledTransport) that reuses one keep-alive TLS
 * agent (the library makes a fresh agent, so a fresh TLS handshake, per request), bounds each
 * call with a timeout (the library sets none), and counts requests. Watches are counted by the
 * informers that open them.
 */
import { existsSync } from "node:fs";
import { Agent, request } from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  KubeConfig,
  type RequestContext,
  ResponseContext,
  ServerConfiguration,
  Watch,
  wrapHttpLibrary,
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

/**
 * The library's transport is node-fetch with a fresh https.Agent per request; pooling those
 * sockets through node-fetch fails under load ("Premature close" on reused sockets). This one
 * sends with node:https over one keep-alive agent that carries the cluster's TLS settings (the
 * library's own per-request agent is only read for them), and retries once a request whose
 * reused socket the server had already closed before answering — safe here, because every
 * call the agent makes is idempotent by object name (a repeated create answers 409).
 */
function pooledTransport(requests: RequestCounter) {
  let pooled: Agent | undefined;
  const send = (ctx: RequestContext, retry: boolean): Promise<ResponseContext> =>
    new Promise((resolve, reject) => {
      const fresh = ctx.getAgent();
      if (fresh instanceof Agent)
        pooled ??= new Agent({ ...fresh.options, keepAlive: true, maxSockets: 16 });
      const body = ctx.getBody();
      const req = request(
        ctx.getUrl(),
        {
          method: ctx.getHttpMethod().toString(),
          headers: ctx.getHeaders(),
          agent: pooled ?? fresh,
          signal: ctx.getSignal() ?? AbortSignal.timeout(KUBE_REQUEST_TIMEOUT_MS),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const buf = Buffer.concat(chunks);
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
            resolve(
              new ResponseContext(res.statusCode ?? 0, headers, {
                text: async () => buf.toString("utf8"),
                binary: async () => buf,
              }),
            );
          });
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && (err.code === "ECONNRESET" || err.code === "EPIPE");
        if (stale && retry) send(ctx, false).then(resolve, reject);
        else reject(err);
      });
      if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
      else req.end();
    });
  return {
    library: wrapHttpLibrary({
      send: (ctx) => {
        requests.add(ctx.getHttpMethod().toString());
        return send(ctx, true);
      },
    }),
    close: () => pooled?.destroy(),
  };
}

/** Builds the clients over `kc`. */
export function createKubeClients(kc: KubeConfig, requests = new RequestCounter()): KubeClients {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster; set its current-context");
  const transport = pooledTransport(requests);
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: transport.library,
  });
  return {
    config: kc,
    apps: new AppsV1Api(configuration),
    core: new CoreV1Api(configuration),
    coordination: new CoordinationV1Api(configuration),
    watch: new Watch(kc),
    requests,
    close: transport.close,
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
