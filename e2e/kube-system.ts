/**
 * StreamSpace on the Kubernetes test bed (or, with `platform: "docker"`, on a Docker Engine API
 * such as scripts/podman-engine.ts serves), each process spawned as production runs it: one
 * control plane (PGlite in a temp folder), one relay, and N replicas of one Kubernetes agent
 * (PLATFORM=kubernetes, one shared AGENT_ID, ENABLE_HA with the Lease backend when N > 1). A
 * replica can be killed and started again (with a fresh data folder, as a new pod would be),
 * which is what failover tests and the failover benchmark do. Logs stay in memory and are
 * printed when a test fails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DATA_PATH_NODE_FLAGS } from "@streamspace/common/node-flags";
import { WAIT } from "@streamspace/common/testing";
import { AgentService } from "@streamspace/proto/streamspace/v1/agent_service_pb";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import {
  Platform,
  ResourcesSchema,
  TemplateSchema,
} from "@streamspace/proto/streamspace/v1/types_pb";
import { freePort } from "../scripts/services.ts";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
// The test runner's own Postgres/Redis must not leak into this system's processes.
const DROP =
  /^(DATABASE_URL|DB_[A-Z]+|REDIS_URL|AGENT_HUB_BACKEND|RELAY_URLS|PORT|DATA_DIR|KUBECONFIG)$/;

/** One agent replica. */
export interface AgentReplica {
  index: number;
  child: ChildProcess;
  healthPort: number;
  alive: boolean;
}

/** The running system. */
export interface KubeSystem extends AsyncDisposable {
  url: string;
  relayUrl: string;
  agentId: string;
  replicas: AgentReplica[];
  /** Connect clients with the admin's token. */
  sessions: Client<typeof SessionService>;
  agents: Client<typeof AgentService>;
  templates: Client<typeof TemplateService>;
  auth: { authorization: string };
  /** The replica whose /health says it leads and holds the stream, if any. */
  leader(): Promise<AgentReplica | undefined>;
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts replica i again with a fresh data folder. */
  restart(i: number): Promise<void>;
  /** Creates a template for the agents' platform and returns its name. */
  template(over?: {
    image?: string;
    persistentHome?: boolean;
    cpuMillis?: bigint;
    memoryBytes?: bigint;
  }): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

/** Options: the bed's kubeconfig (or a ServiceAccount's), the sessions' namespace, replicas. */
export interface KubeSystemOptions {
  /** The agents' PLATFORM: kubernetes (the default) or docker. */
  platform?: "kubernetes" | "docker";
  /** For kubernetes. */
  kubeconfig?: string;
  namespace?: string;
  /** For docker: DOCKER_HOST, and REDIS_URL for the replicas' lease (HA_BACKEND=redis). */
  dockerHost?: string;
  redisUrl?: string;
  replicas?: number;
  /** Extra agent environment (LEASE_DURATION, …). */
  agentEnv?: Record<string, string>;
  /** Every output line of every process, as it arrives (benchmarks read agents' log times). */
  onLog?: (name: string, line: string) => void;
}

export async function startKubeSystem(opts: KubeSystemOptions): Promise<KubeSystem> {
  const dir = mkdtempSync(join(tmpdir(), "ss-kube-system-"));
  const log: string[] = [];
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !DROP.test(k)) base[k] = v;
  base.LOG_LEVEL = process.env.LOG_LEVEL ?? "info";
  const children: ChildProcess[] = [];
  const run = (name: string, script: string, env: Record<string, string>) => {
    const flags = script.startsWith("control-plane") ? [] : [...DATA_PATH_NODE_FLAGS];
    const child = spawn(process.execPath, [...flags, "--import", "tsx", script], {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const s of [child.stdout, child.stderr]) {
      let buf = "";
      s?.on("data", (d: Buffer) => {
        buf += d.toString();
        for (let i = buf.indexOf("\n"); i !== -1; i = buf.indexOf("\n")) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line) continue;
          log.push(`${name}: ${line}`);
          opts.onLog?.(name, line);
        }
        if (log.length > 4000) log.splice(0, log.length - 3000);
      });
    }
    children.push(child);
    return child;
  };
  const port = await freePort();
  const relayPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const relayUrl = `http://127.0.0.1:${relayPort}`;
  const password = randomBytes(9).toString("base64url");
  const bootstrap = randomBytes(18).toString("base64url");
  const docker = opts.platform === "docker";
  const agentId = `${docker ? "docker" : "k8s"}-${randomBytes(3).toString("hex")}`;
  run("control-plane", "control-plane/src/main.ts", {
    HOST: "127.0.0.1",
    PORT: String(port),
    POD_NAME: "control-plane-0",
    DATA_DIR: join(dir, "control-plane"),
    ADMIN_PASSWORD: password,
    JWT_SECRET: randomBytes(32).toString("base64url"),
    AGENT_BOOTSTRAP_TOKEN: bootstrap,
    AGENT_AUTO_APPROVE: "true",
    RELAY_URLS: `relay-0=${relayUrl}`,
    VNC_RELAY_PROXY: relayUrl,
  });
  const stopAll = async () => {
    for (const c of [...children].reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise<void>((r) => c.once("exit", () => r()));
      c.kill("SIGTERM");
      const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(`${url}/health`, WAIT.slow, () => true);
    run("relay", "dataplane/src/main.ts", {
      HOST: "127.0.0.1",
      PORT: String(relayPort),
      RELAY_ID: "relay-0",
      RELAY_PUBLIC_URL: relayUrl,
      RELAY_STATIC_MEMBERS: `relay-0=${relayUrl}`,
      VIEWER_JWKS_URL: `${url}/.well-known/jwks.json`,
    });
    const n = opts.replicas ?? 1;
    const replicas: AgentReplica[] = [];
    const startReplica = async (index: number) => {
      const healthPort = await freePort();
      const platformEnv: Record<string, string> = docker
        ? {
            PLATFORM: "docker",
            DOCKER_HOST: opts.dockerHost ?? "",
            NETWORK_PREFIX: `ss-e2e-${index}`,
            ...(n > 1
              ? { ENABLE_HA: "true", HA_BACKEND: "redis", REDIS_URL: opts.redisUrl ?? "" }
              : {}),
          }
        : {
            PLATFORM: "kubernetes",
            NAMESPACE: opts.namespace ?? "",
            KUBECONFIG: opts.kubeconfig ?? "",
            ...(n > 1 ? { ENABLE_HA: "true", HA_BACKEND: "kubernetes" } : {}),
          };
      const child = run(`agent-${index}`, "agents/src/main.ts", {
        AGENT_ID: agentId,
        CONTROL_PLANE_URL: url,
        REGION: docker ? "docker" : "kube",
        ...platformEnv,
        MAX_SESSIONS: "1000",
        AGENT_DATA_DIR: mkdtempSync(join(dir, `agent-${index}-`)),
        AGENT_BOOTSTRAP_TOKEN: bootstrap,
        AGENT_HEALTH_PORT: String(healthPort),
        AGENT_HEALTH_HOST: "127.0.0.1",
        ...opts.agentEnv,
      });
      const r: AgentReplica = { index, child, healthPort, alive: true };
      child.once("exit", () => {
        r.alive = false;
      });
      replicas[index] = r;
    };
    for (let i = 0; i < n; i++) await startReplica(i);
    await until(`${url}/health`, WAIT.slow, (b) => (b.agents?.connected ?? 0) >= 1);
    const transport = createGrpcTransport({ baseUrl: url });
    const login = await createClient(AuthService, transport).login({ username: "admin", password });
    const auth = { authorization: `Bearer ${login.tokens?.accessToken}` };
    const leader = async () => {
      for (const r of replicas) {
        if (!r?.alive) continue;
        const h = (await fetch(`http://127.0.0.1:${r.healthPort}/health`)
          .then((x) => x.json())
          .catch(() => undefined)) as { leader?: boolean; connected?: boolean } | undefined;
        if (h?.leader && h.connected) return r;
      }
      return undefined;
    };
    const templates = createClient(TemplateService, transport);
    return {
      url,
      relayUrl,
      agentId,
      replicas,
      sessions: createClient(SessionService, transport),
      agents: createClient(AgentService, transport),
      templates,
      auth,
      leader,
      async kill(i, signal = "SIGKILL") {
        const r = replicas[i];
        if (!r?.alive) return;
        const gone = new Promise<void>((res) => r.child.once("exit", () => res()));
        r.child.kill(signal);
        await gone;
      },
      restart: (i) => startReplica(i),
      async template(over = {}) {
        const name = `${docker ? "docker" : "kube"}-${randomBytes(3).toString("hex")}`;
        await templates.createTemplate(
          {
            template: create(TemplateSchema, {
              name,
              displayName: name,
              image:
                over.image ??
                (docker ? "localhost/streamspace/desktop-demo:dev" : "streamspace.test/desktop:1"),
              platform: docker ? Platform.DOCKER : Platform.KUBERNETES,
              persistentHome: over.persistentHome ?? false,
              resources: create(ResourcesSchema, {
                cpuMillis: over.cpuMillis ?? 100n,
                memoryBytes: over.memoryBytes ?? 128n << 20n,
              }),
            }),
          },
          { headers: auth },
        );
        return name;
      },
      logs: () => log.slice(-200).join("\n"),
      stop: stopAll,
      [Symbol.asyncDispose]: stopAll,
    };
  } catch (err) {
    process.stderr.write(`--- system logs ---\n${log.slice(-80).join("\n")}\n`);
    await stopAll();
    throw err;
  }
}

type Health = { agents?: { connected?: number } };

async function until(url: string, timeoutMs: number, ok: (b: Health) => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const b = (await (await fetch(url)).json()) as Health;
      if (ok(b)) return;
      last = JSON.stringify(b);
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s; last answer: ${last}`);
}
