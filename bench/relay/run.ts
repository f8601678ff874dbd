/**
 * VNC relay benchmark: the StreamSpace relay (relay + agent processes) beside websockify and
 * direct loopback TCP, in one run, driven by the shared relaybench client and VNC stand-in
 * (/work/shared/bench/relaybench, unmodified; a preload shim gives each connection its own
 * session and single-use token). Relay pinned to CPU1, everything else to CPU0, as in the
 * baseline. Measures setup, RTT of 32-byte records at --rate msg/s per viewer, downstream MB/s,
 * relay CPU (process tree, /proc) per phase and peak RSS.
 *
 *   node --import tsx bench/relay/run.ts --relays streamspace,websockify,direct --n 1,100,1000 --reps 3
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DATA_PATH_NODE_FLAGS } from "@streamspace/common/node-flags";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { freePort, waitForPort } from "../../scripts/services.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HARNESS = process.env.RELAYBENCH_DIR ?? "/work/shared/bench/relaybench";
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const RELAYS = (args.get("relays") ?? "streamspace,websockify,direct").split(",");
const NS = (args.get("n") ?? "1,100,1000").split(",").map(Number);
const REPS = Number(args.get("reps") ?? 1);
const OUT = args.get("out") ?? join(ROOT, "bench/results/relay");
const CLIENT_ARGS = (args.get("client-args") ?? "--lat-secs 6 --tput-secs 5")
  .split(" ")
  .filter(Boolean);
const AGENT_CPU = Number(args.get("agent-cpu") ?? 1);
// The relay and agent run with a young generation sized for streaming (dataplane/README.md,
// "Runtime flags"): without it V8 promotes in-flight buffers and runs ~10 full GCs a second
// under load. `--node-flags ""` measures the bare default.
// `--relay-entry dataplane/dist/main.mjs` runs the production bundle (scripts/bundle.ts) with
// plain node instead of the TypeScript entry under tsx.
const RELAY_ENTRY = args.get("relay-entry") ?? "dataplane/src/main.ts";
const NODE_FLAGS = (args.get("node-flags") ?? DATA_PATH_NODE_FLAGS.join(" "))
  .split(" ")
  .filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (utime+stime) and RSS of a process and all its descendants. */
function treeSample(root: number): { cpu: number; rssMb: number } {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  let cpu = 0;
  let rss = 0;
  const walk = (pid: number) => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8")
        .slice(readFileSync(`/proc/${pid}/stat`, "utf8").lastIndexOf(")") + 2)
        .split(" ");
      cpu += (Number(f[11]) + Number(f[12])) / 100;
      rss += (Number(f[21]) * 4096) / 1e6;
    } catch {}
    for (const k of kids.get(pid) ?? []) walk(k);
  };
  walk(root);
  return { cpu, rssMb: rss };
}

function pinned(
  cpu: number,
  cmd: string,
  argv: string[],
  env: Record<string, string> = {},
): ChildProcess {
  return spawn("taskset", ["-c", String(cpu), cmd, ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function stop(p: ChildProcess | undefined) {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 5000);
  await done;
  clearTimeout(t);
}

async function mintKeys() {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: "bench", alg: "EdDSA" }],
  });
  const sign = (claims: Record<string, unknown>, aud: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid: "bench" })
      .setIssuer("streamspace")
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime("2m")
      .sign(privateKey);
  return { jwks, sign };
}

async function runCase(relay: string, n: number, rep: number) {
  const vncPort = await freePort();
  const standin = pinned(0, process.execPath, [
    join(HARNESS, "vnc-standin.js"),
    "--port",
    String(vncPort),
  ]);
  await waitForPort(vncPort);
  const procs: { name: string; p: ChildProcess }[] = [];
  let clientArgs: string[];
  const execArgv: string[] = [];
  const warm = 1;
  try {
    if (relay === "direct") {
      clientArgs = ["--mode", "tcp", "--target", `127.0.0.1:${vncPort}`];
    } else if (relay === "websockify") {
      const port = await freePort();
      procs.push({
        name: "websockify",
        p: pinned(1, "websockify", [`127.0.0.1:${port}`, `127.0.0.1:${vncPort}`]),
      });
      await waitForPort(port);
      clientArgs = ["--mode", "ws", "--url", `ws://127.0.0.1:${port}/`];
    } else {
      const keys = await mintKeys();
      const port = await freePort();
      const nodeArgs = (k: string) => (process.env[k] ?? "").split(" ").filter(Boolean);
      const relayProc = pinned(
        1,
        process.execPath,
        [
          ...NODE_FLAGS,
          ...nodeArgs("RELAY_NODE_ARGS"),
          ...(RELAY_ENTRY.endsWith(".mjs") ? [] : ["--import", "tsx"]),
          RELAY_ENTRY,
        ],
        {
          PORT: String(port),
          HOST: "127.0.0.1",
          RELAY_ID: "bench-relay",
          RELAY_STATIC_MEMBERS: `bench-relay=http://127.0.0.1:${port}`,
          VIEWER_JWKS: keys.jwks,
          LOG_LEVEL: "warn",
          // "streamspace-direct": the relay dials the VNC stand-in itself (direct mode).
          ...(relay === "streamspace-direct" ? { RELAY_DIRECT_NETS: "127.0.0.1" } : {}),
        },
      );
      procs.push({ name: "relay", p: relayProc });
      await waitForPort(port, 30_000);
      // The agent is part of the system under test (in production it sits on the session's
      // host), so it shares CPU1 with the relay and leaves CPU0 to the load generator.
      const agent = pinned(
        AGENT_CPU,
        process.execPath,
        [
          ...NODE_FLAGS,
          ...nodeArgs("AGENT_NODE_ARGS"),
          "--import",
          "tsx",
          "bench/relay/bench-agent.ts",
        ],
        {
          RELAY_URL: `http://127.0.0.1:${port}`,
          RELAY_TOKEN: await keys.sign({ sub: "bench-agent" }, "streamspace-relay"),
          BENCH_SESSIONS: String(n + warm),
          VNC_PORT: String(vncPort),
          BENCH_DIRECT: relay === "streamspace-direct" ? "1" : "",
        },
      );
      procs.push({ name: "agent", p: agent });
      for (let i = 0; ; i++) {
        const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        if (m.includes(`streamspace_relay_sessions_attached{relay="bench-relay"} ${n + warm}`))
          break;
        if (i > 600) throw new Error("agent never attached its sessions");
        await sleep(50);
      }
      const tokens = await Promise.all(
        Array.from({ length: n + warm }, async (_, k) => ({
          sid: `bench-${k}`,
          token: await keys.sign(
            { sub: "u", sid: `bench-${k}`, aid: "bench-agent", jti: `j-${rep}-${k}` },
            "streamspace-viewer",
          ),
        })),
      );
      const file = join(OUT, `tokens-${process.pid}.json`);
      writeFileSync(file, JSON.stringify(tokens));
      process.env.BENCH_TOKENS_FILE = file;
      execArgv.push("--require", join(ROOT, "bench/relay/ws-token-shim.cjs"));
      clientArgs = ["--mode", "ws", "--url", `ws://127.0.0.1:${port}/vnc/bench`];
    }
    const measured = procs.filter((x) => x.name !== "agent");
    const agentProc = procs.find((x) => x.name === "agent");
    const marks: Record<string, { cpu: number; agentCpu: number; t: number }> = {};
    let peakRss = 0;
    const snap = () => {
      const s = measured.map((x) => treeSample(x.p.pid!));
      const rss = s.reduce((a, b) => a + b.rssMb, 0);
      peakRss = Math.max(peakRss, rss);
      return {
        cpu: s.reduce((a, b) => a + b.cpu, 0),
        agentCpu: agentProc ? treeSample(agentProc.p.pid!).cpu : 0,
        t: Date.now(),
      };
    };
    const sampler = setInterval(snap, 500);
    const client = fork(
      join(HARNESS, "client.js"),
      [...clientArgs, "--n", String(n), "--warmup-conns", String(warm), ...CLIENT_ARGS],
      {
        execArgv,
        // The harness folder has no node_modules; it resolves ws from this repository.
        env: { ...process.env, NODE_PATH: join(ROOT, "node_modules") },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      },
    );
    spawn("taskset", ["-pc", "0", String(client.pid)], { stdio: "ignore" });
    let result: Record<string, unknown> | undefined;
    client.on("message", (m: { phase?: string; result?: Record<string, unknown> }) => {
      if (m.phase) marks[m.phase] = snap();
      if (m.phase === "pre_teardown") client.send({ ack: "pre_teardown" });
      if (m.result) result = m.result;
    });
    await new Promise((r) => client.once("exit", r));
    clearInterval(sampler);
    const d = (a: string, b: string, k: "cpu" | "agentCpu" = "cpu") =>
      marks[a] && marks[b] ? +(marks[b]![k] - marks[a]![k]).toFixed(2) : null;
    const tput = (result?.throughput ?? {}) as { bytes?: number };
    const tputCpu = d("tput_window_start", "tput_window_end");
    const agentTputCpu = d("tput_window_start", "tput_window_end", "agentCpu");
    const out = {
      relay,
      n,
      rep,
      node_flags: relay.startsWith("streamspace") ? NODE_FLAGS : null,
      relay_entry: relay.startsWith("streamspace") ? RELAY_ENTRY : null,
      load_avg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number),
      result,
      relay_cpu_s: {
        setup: d("setup_start", "setup_done"),
        latency: d("lat_start", "lat_end"),
        tput_window: tputCpu,
      },
      agent_cpu_s: agentProc
        ? { latency: d("lat_start", "lat_end", "agentCpu"), tput_window: agentTputCpu }
        : null,
      relay_cpu_s_per_gb:
        tputCpu !== null && tput.bytes ? +(tputCpu / (tput.bytes / 1e9)).toFixed(2) : null,
      agent_cpu_s_per_gb:
        agentTputCpu !== null && tput.bytes
          ? +(agentTputCpu / (tput.bytes / 1e9)).toFixed(2)
          : null,
      relay_peak_rss_mb: +peakRss.toFixed(0),
      // Wall-clock time of each client phase, to line up with diag-preload.cjs records.
      phase_ms: Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, v.t])),
    };
    writeFileSync(join(OUT, `${relay}-n${n}-r${rep}.json`), JSON.stringify(out, null, 2));
    return out;
  } finally {
    if (process.env.BENCH_TOKENS_FILE) rmSync(process.env.BENCH_TOKENS_FILE, { force: true });
    for (const x of procs.reverse()) await stop(x.p);
    await stop(standin);
  }
}

mkdirSync(OUT, { recursive: true });
for (let rep = 1; rep <= REPS; rep++) {
  for (const n of NS) {
    for (const relay of RELAYS) {
      const r = await runCase(relay, n, rep);
      const res = r.result as
        | {
            latency_ms?: { p50: number; p99: number; p999: number };
            throughput?: { MBps: number };
            errors?: Record<string, number>;
            ok_conns?: number;
          }
        | undefined;
      console.log(
        `${relay} n=${n} rep=${rep} load ${r.load_avg.join(" ")}: ok ${res?.ok_conns} rtt p50/p99/p999 ${res?.latency_ms?.p50}/${res?.latency_ms?.p99}/${res?.latency_ms?.p999} ms, ${res?.throughput?.MBps} MB/s, relay cpu lat ${r.relay_cpu_s.latency}s, ${r.relay_cpu_s_per_gb} CPU-s/GB (agent ${r.agent_cpu_s_per_gb}), rss ${r.relay_peak_rss_mb} MB, errors ${JSON.stringify(res?.errors)}`,
      );
    }
  }
}
