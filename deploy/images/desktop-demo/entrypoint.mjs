// The built-in demo desktop as a container: runs the agent's prebuilt RFB server
// (builtin-vnc.mjs, which listens on an ephemeral loopback port and reports it in a file, as the
// local driver needs) and exposes it on 0.0.0.0:$VNC_PORT (5900), where the Kubernetes and
// Docker drivers expect a session's VNC server. pipe() carries backpressure both ways.
// `entrypoint.mjs --check` is the health check: the port answers with an RFB version banner.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import net from "node:net";

const vncPort = Number(process.env.VNC_PORT ?? 5900);

if (process.argv[2] === "--check") {
  const sock = net.connect(vncPort, "127.0.0.1");
  const fail = () => process.exit(1);
  sock.setTimeout(3000, fail);
  sock.once("error", fail);
  sock.once("data", (d) => process.exit(d.subarray(0, 4).toString() === "RFB " ? 0 : 1));
} else {
  const portFile = "/tmp/ss-demo-vnc.port";
  // A restarted container (the Docker driver's wake) keeps /tmp: the last run's port must not be
  // mistaken for this run's, or viewers are forwarded to a port nobody listens on.
  rmSync(portFile, { force: true });
  const child = spawn(process.execPath, [new URL("./builtin-vnc.mjs", import.meta.url).pathname], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, SS_PORT_FILE: portFile },
  });
  child.once("exit", (code, signal) => {
    console.error(JSON.stringify({ level: "error", msg: "demo VNC server exited", code, signal }));
    process.exit(code ?? 1);
  });
  const innerPort = await new Promise((resolve, reject) => {
    const deadline = Date.now() + 15_000;
    const poll = () => {
      try {
        const p = Number(readFileSync(portFile, "utf8"));
        if (p > 0) return resolve(p);
      } catch {}
      if (Date.now() > deadline) reject(new Error("the demo VNC server did not report its port"));
      else setTimeout(poll, 20);
    };
    poll();
  });
  const server = net.createServer((viewer) => {
    const inner = net.connect(innerPort, "127.0.0.1");
    viewer.setNoDelay(true);
    inner.setNoDelay(true);
    viewer.pipe(inner).pipe(viewer);
    const end = () => {
      viewer.destroy();
      inner.destroy();
    };
    viewer.once("error", end).once("close", end);
    inner.once("error", end).once("close", end);
  });
  server.listen(vncPort, "0.0.0.0", () =>
    console.error(JSON.stringify({ level: "info", msg: "demo desktop listening", port: vncPort })),
  );
  const stop = () => {
    server.close();
    child.kill("SIGTERM");
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
