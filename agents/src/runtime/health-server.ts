/**
 * The agent's own /health and /ready (AGENT_HEALTH_PORT), for the kubelet or a supervisor.
 * Liveness is "the process answers"; readiness is "holds the control-plane stream and is the
 * leader", so a follower replica or a disconnected agent is visibly not ready.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What the health endpoints report. */
export interface HealthStatus {
  agentId: string;
  version: string;
  connected: boolean;
  leader: boolean;
  pod?: string;
  sessions: number;
}

/** A listening health server; close() stops it. */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 or 0.0.0.0 at `port` (0 = any free port). */
export async function startHealthServer(
  port: number,
  status: () => HealthStatus,
  host = "0.0.0.0",
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const s = status();
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/health") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ status: "ok", ...s }));
    } else if (path === "/ready") {
      const ready = s.connected && s.leader;
      const detail = !s.leader
        ? "not the leader"
        : !s.connected
          ? "not connected to the control plane"
          : "ready";
      res
        .writeHead(ready ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ ready, detail }));
    } else {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "try /health or /ready" }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
