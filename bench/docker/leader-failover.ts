/**
 * Docker agent failover in the whole system: two replicas of one Docker agent (one AGENT_ID,
 * ENABLE_HA with HA_BACKEND=redis, the default 2 s lease) on a Podman engine, a control plane
 * and a relay. Each trial kills the leading replica's process (SIGKILL: no lease release), then
 * measures kill → the other replica's /health says it leads and holds the stream (polled every
 * 25 ms), and checks that every session still has exactly one container. The killed replica is
 * started again (fresh data folder, as a new host would be) before the next trial.
 *
 *   node --import tsx bench/docker/leader-failover.ts [--trials 10]
 */
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import Docker from "dockerode";
import { startKubeSystem } from "../../e2e/kube-system.ts";
import { startPodmanEngine } from "../../scripts/podman-engine.ts";
import { startRedis } from "../../scripts/services.ts";
import { pct, wall, watchStates } from "../kubernetes/kube-bench-kit.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const TRIALS = Number(arg("trials", "10"));
const LEASE_MS = 2_000;

const redis = await startRedis();
await using engine = await startPodmanEngine();
const docker = new Docker({ socketPath: engine.socketPath });
await using sys = await startKubeSystem({
  platform: "docker",
  dockerHost: engine.dockerHost,
  redisUrl: redis.url,
  replicas: 2,
  agentEnv: { LOG_LEVEL: "warn" },
});
const watch = watchStates(sys);
try {
  const tpl = await sys.template();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { session } = await sys.sessions.createSession({ template: tpl }, { headers: sys.auth });
    ids.push(session?.id ?? "");
  }
  for (const id of ids) await watch.until(id, SessionState.RUNNING);
  const times: number[] = [];
  let duplicates = 0;
  const load0 = loadavg()[0] ?? 0;
  for (let t = 0; t < TRIALS; t++) {
    let leader = await sys.leader();
    while (!leader) {
      await sleep(50);
      leader = await sys.leader();
    }
    // A random point of the leader's renew cycle.
    await sleep(Math.random() * 250);
    const killedAt = wall();
    await sys.kill(leader.index);
    let next = await sys.leader();
    while (!next) {
      await sleep(25);
      next = await sys.leader();
    }
    times.push(wall() - killedAt);
    for (const id of ids) {
      const cs = await docker.listContainers({
        all: true,
        filters: { label: [`streamspace.session-id=${id}`] },
      });
      if (cs.length !== 1 || cs[0]?.State !== "running") duplicates++;
    }
    await sys.restart(leader.index);
    process.stdout.write(`trial ${t + 1}: ${times.at(-1)?.toFixed(0)} ms\n`);
  }
  process.stdout.write(
    `docker agent failover (redis lease ${LEASE_MS} ms), ${TRIALS} trials, load ${load0.toFixed(1)}→${(loadavg()[0] ?? 0).toFixed(1)}: ` +
      `p50=${pct(times, 50).toFixed(0)} ms p95=${pct(times, 95).toFixed(0)} ms max=${Math.max(...times).toFixed(0)} ms ` +
      `(bound LEASE_DURATION + 2 s = ${LEASE_MS + 2000} ms); sessions without exactly one running container after a takeover: ${duplicates}\n`,
  );
} catch (err) {
  process.stderr.write(`--- system logs ---\n${sys.logs()}\n`);
  throw err;
} finally {
  await watch.close();
  await redis.stop();
}
