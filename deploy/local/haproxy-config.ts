/**
 * HAProxy configuration for the local cluster. Browsers reach relays on one port: the "relays"
 * backend is `balance uri` + `hash-type consistent` on the /vnc path (what any L7 balancer can
 * do), and a Lua fetch (rendezvous.lua, the same function as common/src/relay-ring.ts) picks the
 * exact owner when it can, so viewers rarely need the relay-to-relay forward. Timeouts are
 * WebSocket-aware: `timeout tunnel` governs upgraded connections, not `timeout client/server`.
 * Control-plane pods sit behind a TCP (L4) frontend so HTTP/1.1, h2c and gRPC all pass.
 */
import { fileURLToPath } from "node:url";

/** One backend slot; slots for relays not running yet are simply marked DOWN by checks. */
export interface HaproxyTarget {
  id: string;
  port: number;
}

/** Renders haproxy.cfg. `relaySlots` may list more relays than are running (add-relay tests). */
export function renderHaproxyConfig(opts: {
  relayFrontPort: number;
  apiFrontPort?: number;
  relaySlots: HaproxyTarget[];
  controlPlanes: HaproxyTarget[];
  statsPort?: number;
  useLuaOwner?: boolean;
  /** Log every request to stderr (debugging). */
  logRequests?: boolean;
}): string {
  const lua = fileURLToPath(new URL("./rendezvous.lua", import.meta.url));
  const useLua = opts.useLuaOwner ?? true;
  const lines = [
    "global",
    "  maxconn 4000",
    ...(opts.logRequests ? ["  log stderr format raw local0"] : []),
    ...(useLua ? [`  lua-load ${lua}`] : []),
    "defaults",
    "  mode http",
    ...(opts.logRequests ? ["  log global", "  option httplog"] : []),
    "  timeout connect 2s",
    "  timeout client 30s",
    "  timeout server 30s",
    "  timeout tunnel 1h",
    "  timeout client-fin 5s",
    "  timeout http-request 5s",
    "  retries 1",
    "  option redispatch 1",
    "",
    "frontend vnc",
    `  bind 127.0.0.1:${opts.relayFrontPort}`,
    ...(useLua
      ? [
          '  http-request return status 200 content-type text/plain lf-string "%[lua.relay_status]" if { path /lua-status }',
          "  use_backend relay_%[lua.relay_owner] if { path_beg /vnc/ }",
        ]
      : []),
    "  default_backend relays",
    "",
    "backend relays",
    "  balance uri",
    "  hash-type consistent",
    "  option httpchk GET /ready",
    "  default-server check inter 300ms fall 1 rise 1",
    ...opts.relaySlots.map((r) => `  server ${r.id} 127.0.0.1:${r.port}`),
    "",
  ];
  if (useLua) {
    for (const r of opts.relaySlots) {
      // No retries here: a refused connection means the owner just died, and HAProxy's 1 s
      // retry turn-around would outlast the reconnect budget. Answer 503 at once instead; the
      // check marks the server down within one interval and the viewer's retry lands on the
      // next owner.
      lines.push(
        `backend relay_${r.id}`,
        "  retries 0",
        "  no option redispatch",
        `  server ${r.id} 127.0.0.1:${r.port} track relays/${r.id}`,
        "",
      );
    }
  }
  if (opts.apiFrontPort && opts.controlPlanes.length) {
    lines.push(
      "frontend api",
      "  mode tcp",
      `  bind 127.0.0.1:${opts.apiFrontPort}`,
      "  default_backend control_planes",
      "",
      "backend control_planes",
      "  mode tcp",
      "  balance roundrobin",
      "  timeout server 1h",
      "  default-server check inter 500ms fall 2 rise 1",
      ...opts.controlPlanes.map((c) => `  server ${c.id} 127.0.0.1:${c.port}`),
      "",
    );
  }
  if (opts.statsPort) {
    lines.push(
      "frontend stats",
      `  bind 127.0.0.1:${opts.statsPort}`,
      "  stats enable",
      "  stats uri /",
      "",
    );
  }
  return `${lines.join("\n")}\n`;
}
