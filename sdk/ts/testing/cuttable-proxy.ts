/**
 * A loopback TCP forwarder the SDK tests put between a client and the live control plane, so
 * they can drop the client's connections (a pod restart, a proxy's idle cut, a network blip)
 * without touching the server: `cut()` destroys every open connection, `pause()` refuses new
 * ones until `resume()`.
 */
import net, { type Socket } from "node:net";

export interface CuttableProxy extends AsyncDisposable {
  url: string;
  /** Connections accepted so far (a reconnect shows up here). */
  readonly accepted: number;
  cut(): void;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<free port> to `target` (host:port). */
export async function startCuttableProxy(target: string): Promise<CuttableProxy> {
  const [host, port] = [target.split(":")[0]!, Number(target.split(":")[1])];
  const open = new Set<Socket>();
  let paused = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    if (paused) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = net.connect(port, host);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address() as net.AddressInfo;
  const cut = () => {
    for (const s of open) s.destroy();
  };
  const close = async () => {
    cut();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    get accepted() {
      return accepted;
    },
    cut,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
