/**
 * A network partition for one control-plane pod, on loopback addresses only: the pod runs in
 * its own network namespace (`ip netns`), joined to the host by a veth pair that carries
 * 127.201.x.1 (host side) and 127.201.x.2 (pod side); `route_localnet` lets 127/8 travel over
 * the pair, on those two interfaces only. Postgres and Redis listen on 127.0.0.1, so the host
 * side forwards their ports from 127.201.x.1. Cutting the partition sets the host end of the
 * pair down: every packet between the pod and the rest (agents, Postgres, Redis) is dropped,
 * both ways, without closing a socket, as a real partition does. Healing sets it up again.
 *
 * Needs root (CAP_NET_ADMIN) and iproute2; setUp() throws with the reason otherwise.
 */
import { execFileSync } from "node:child_process";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";

export interface Partition {
  /** Command prefix that runs a process inside the namespace. */
  prefix: string[];
  /** The pod's address inside the namespace, and the host's as the pod sees it. */
  podAddr: string;
  hostAddr: string;
  /** Makes 127.0.0.1:port reachable from the pod at hostAddr:port. */
  forward(port: number): void;
  /** Rewrites a URL's 127.0.0.1 host to hostAddr (and forwards its port). */
  fromPod(url: string): string;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/** Creates the namespace and the veth pair; throws with the reason when it cannot. */
export function setUpPartition(): Partition {
  const tag = (process.pid % 100_000).toString(36);
  const ns = `ss-chaos-${tag}`;
  const hostDev = `ssc${tag}h`;
  const podDev = `ssc${tag}n`;
  const octet = 1 + (process.pid % 250);
  const hostAddr = `127.201.${octet}.1`;
  const podAddr = `127.201.${octet}.2`;
  try {
    ip("netns", "add", ns);
    ip("link", "add", hostDev, "type", "veth", "peer", "name", podDev);
    ip("link", "set", podDev, "netns", ns);
    ip("addr", "add", `${hostAddr}/30`, "dev", hostDev);
    ip("link", "set", hostDev, "up");
    execFileSync("sysctl", ["-qw", `net.ipv4.conf.${hostDev}.route_localnet=1`]);
    const inNs = (...a: string[]) => execFileSync("ip", ["netns", "exec", ns, ...a]);
    inNs("ip", "link", "set", "lo", "up");
    inNs("ip", "addr", "add", `${podAddr}/30`, "dev", podDev);
    inNs("ip", "link", "set", podDev, "up");
    inNs("sysctl", "-qw", `net.ipv4.conf.${podDev}.route_localnet=1`);
  } catch (err) {
    try {
      ip("netns", "del", ns);
    } catch {}
    throw new Error(
      `cannot make a network namespace for the partition (needs root with CAP_NET_ADMIN and iproute2): ${String(err)}`,
    );
  }
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const forwarded = new Set<number>();
  const forward = (port: number) => {
    if (forwarded.has(port)) return;
    forwarded.add(port);
    const srv = createServer((inbound) => {
      const out = netConnect(port, "127.0.0.1");
      for (const s of [inbound, out]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => {
          inbound.destroy();
          out.destroy();
        });
      }
      inbound.pipe(out).pipe(inbound);
    });
    srv.listen(port, hostAddr);
    servers.push(srv);
  };
  return {
    prefix: ["ip", "netns", "exec", ns],
    podAddr,
    hostAddr,
    forward,
    fromPod(url) {
      const u = new URL(url);
      if (u.hostname === "127.0.0.1") {
        forward(Number(u.port));
        u.hostname = hostAddr;
      }
      return u.toString().replace(/\/$/, "");
    },
    cut: () => ip("link", "set", hostDev, "down"),
    heal: () => ip("link", "set", hostDev, "up"),
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
      try {
        ip("netns", "del", ns);
      } catch {}
      try {
        ip("link", "del", hostDev);
      } catch {}
    },
  };
}
