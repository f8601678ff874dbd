import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  AGENT_ENV_VARIABLES,
  ConfigError,
  loadConfig,
  parseCpuMillis,
  parseDurationMs,
  parseMemoryBytes,
} from "./config.ts";

const base = { AGENT_ID: "a-1", CONTROL_PLANE_URL: "http://cp:8080/, https://cp2:443" };

function bad(env: Record<string, string>, variable: string, pattern: RegExp) {
  assert.throws(
    () => loadConfig({ ...base, ...env }, "/srv"),
    (e) =>
      e instanceof ConfigError &&
      e.variable === variable &&
      pattern.test(e.message) &&
      !e.message.includes("\n"),
  );
}

describe("agent config", () => {
  test("defaults and parsing", () => {
    const c = loadConfig(
      { ...base, MAX_CPU: "1500m", MAX_MEMORY: "2Gi", AGENT_LABELS: "gpu=none, zone=a" },
      "/srv",
    );
    assert.deepEqual(c.controlPlaneUrls, ["http://cp:8080", "https://cp2:443"]);
    assert.equal(c.platform, "local");
    assert.equal(c.maxSessions, 10);
    assert.equal(c.maxCpuMillis, 1500n);
    assert.equal(c.maxMemoryBytes, 2n * 1024n ** 3n);
    assert.deepEqual(c.labels, { gpu: "none", zone: "a" });
    assert.equal(c.dataDir, "/srv/.data/agent-a-1");
    assert.equal(c.leaseFile, "/srv/.data/agent-a-1/leader.lease");
    assert.deepEqual([c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs], [2000, 1500, 250]);
    assert.equal(c.healthPort, 8082);
    assert.equal(c.enableHa, false);
    assert.equal(c.healthHost, "127.0.0.1", "the health port is loopback unless configured");
    assert.equal(c.logLevel, "info");
    assert.equal(c.stopSessionsOnExit, false);
    assert.equal(c.relayDirect, false, "direct mode is opt-in");
    assert.deepEqual([c.region, c.namespace, c.haBackend], ["default", "streamspace", "file"]);
  });

  test("durations take the kit's units, h and d included; a bare number is seconds", () => {
    const c = loadConfig(
      { ...base, LEASE_DURATION: "1d", RENEW_DEADLINE: "2h", RETRY_PERIOD: "90" },
      "/srv",
    );
    assert.deepEqual(
      [c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs],
      [86_400_000, 7_200_000, 90_000],
    );
    bad({ LEASE_DURATION: "0s" }, "LEASE_DURATION", /duration/);
    bad({ RETRY_PERIOD: "1w" }, "RETRY_PERIOD", /500ms, 30s, 5m, 2h or 1d/);
  });

  test("AGENT_HEALTH_HOST opens the health port where an operator needs it", () => {
    const c = loadConfig({ ...base, AGENT_HEALTH_HOST: "0.0.0.0", AGENT_HEALTH_PORT: "0" }, "/");
    assert.deepEqual([c.healthHost, c.healthPort], ["0.0.0.0", 0]);
  });

  test("each malformed variable is named in one line", () => {
    assert.throws(() => loadConfig({}, "/"), /AGENT_ID is required but not set/);
    bad({ AGENT_ID: "has space" }, "AGENT_ID", /letters, digits/);
    bad({ CONTROL_PLANE_URL: "cp:8080" }, "CONTROL_PLANE_URL", /http:\/\//);
    bad({ PLATFORM: "vm" }, "PLATFORM", /local\|docker\|kubernetes/);
    bad({ MAX_SESSIONS: "0" }, "MAX_SESSIONS", /integer from 1/);
    bad({ MAX_SESSIONS: "2.5" }, "MAX_SESSIONS", /integer/);
    bad({ MAX_CPU: "two" }, "MAX_CPU", /1500m/);
    bad({ MAX_MEMORY: "4GB" }, "MAX_MEMORY", /4Gi/);
    bad({ ENABLE_HA: "maybe" }, "ENABLE_HA", /true or false/);
    bad({ HA_BACKEND: "etcd" }, "HA_BACKEND", /redis\|file\|kubernetes/);
    bad({ LEASE_LOCK_NAME: "Not_A_Name" }, "LEASE_LOCK_NAME", /Kubernetes object name/);
    bad({ NAMESPACE: "Desktops" }, "NAMESPACE", /Kubernetes namespace name/);
    bad({ ENABLE_HA: "true", HA_BACKEND: "redis" }, "REDIS_URL", /HA_BACKEND=redis/);
    bad({ REDIS_URL: "localhost:6379" }, "REDIS_URL", /redis:\/\//);
    bad({ LEASE_DURATION: "soon" }, "LEASE_DURATION", /duration/);
    bad(
      { LEASE_DURATION: "1s", RENEW_DEADLINE: "1s" },
      "RENEW_DEADLINE",
      /less than LEASE_DURATION/,
    );
    bad({ RETRY_PERIOD: "2s" }, "RETRY_PERIOD", /less than RENEW_DEADLINE/);
    bad({ AGENT_HEALTH_PORT: "70000" }, "AGENT_HEALTH_PORT", /0 to 65535/);
    bad({ LOG_LEVEL: "loud" }, "LOG_LEVEL", /debug\|info/);
    bad({ AGENT_LABELS: "novalue" }, "AGENT_LABELS", /key=value/);
  });

  test("Docker agent variables: DOCKER_HOST, NETWORK_PREFIX, KEEP_HOME_VOLUMES, LEASE_FILE, LEASE_KEY", () => {
    const d = loadConfig(base, "/srv");
    assert.equal(d.dockerHost, "unix:///var/run/docker.sock");
    assert.equal(d.networkPrefix, "streamspace");
    assert.equal(d.keepHomeVolumes, false);
    assert.equal(d.leaseKey, "streamspace:agent-lease:a-1");
    const c = loadConfig(
      {
        ...base,
        PLATFORM: "docker",
        DOCKER_HOST: "tcp://127.0.0.1:2375",
        NETWORK_PREFIX: "ss-desktops",
        KEEP_HOME_VOLUMES: "true",
        LEASE_FILE: "shared/agent.lease",
        LEASE_KEY: "site-a:agent-lease",
      },
      "/srv",
    );
    assert.equal(c.platform, "docker");
    assert.equal(c.dockerHost, "tcp://127.0.0.1:2375");
    assert.equal(c.networkPrefix, "ss-desktops");
    assert.equal(c.keepHomeVolumes, true);
    assert.equal(c.leaseFile, "/srv/shared/agent.lease");
    assert.equal(c.leaseKey, "site-a:agent-lease");
    assert.equal(
      loadConfig({ ...base, LEASE_FILE: "/a", HA_LEASE_FILE: "/b" }, "/srv").leaseFile,
      "/b",
      "HA_LEASE_FILE wins over its alias",
    );
    bad({ DOCKER_HOST: "/var/run/docker.sock" }, "DOCKER_HOST", /unix:\/\/\/path/);
    bad({ DOCKER_HOST: "ssh://host" }, "DOCKER_HOST", /tcp:\/\/host:port/);
    bad({ NETWORK_PREFIX: "-x" }, "NETWORK_PREFIX", /letters, digits/);
    bad({ LEASE_KEY: "has space" }, "LEASE_KEY", /Redis key/);
    bad({ HA_BACKEND: "swarm" }, "HA_BACKEND", /HA_BACKEND=swarm is not built .*Podman.*no Swarm/);
  });

  test("agents/README.md documents every variable the agent reads", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const v of AGENT_ENV_VARIABLES) assert.ok(readme.includes(`\`${v}\``), v);
  });

  test("HA_BACKEND=kubernetes: a Lease per agent id, client-go's 15 s / 10 s / 2 s unless set", () => {
    const c = loadConfig({
      ...base,
      AGENT_ID: "Cluster_A",
      NAMESPACE: "desktops",
      HA_BACKEND: "kubernetes",
    });
    assert.equal(c.haBackend, "kubernetes");
    assert.equal(c.leaseLockName, "streamspace-agent-cluster-a");
    assert.equal(c.leaseLockNamespace, "desktops");
    assert.deepEqual(
      [c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs],
      [15_000, 10_000, 2_000],
    );
    const d = loadConfig({
      ...base,
      HA_BACKEND: "kubernetes",
      LEASE_LOCK_NAME: "agents-lead",
      LEASE_LOCK_NAMESPACE: "ha",
      LEASE_DURATION: "4s",
      RENEW_DEADLINE: "3s",
      RETRY_PERIOD: "500ms",
    });
    assert.deepEqual([d.leaseLockName, d.leaseLockNamespace], ["agents-lead", "ha"]);
    assert.deepEqual([d.leaseDurationMs, d.renewDeadlineMs, d.retryPeriodMs], [4_000, 3_000, 500]);
  });

  test("quantity and duration parsers", () => {
    assert.equal(parseDurationMs("250ms"), 250);
    assert.equal(parseDurationMs("1.5s"), 1500);
    assert.equal(parseDurationMs("2"), 2000);
    assert.equal(parseDurationMs("1m"), 60_000);
    assert.equal(parseDurationMs("2h"), 7_200_000);
    assert.equal(parseDurationMs("1d"), 86_400_000);
    assert.equal(parseDurationMs("-1s"), undefined);
    assert.equal(parseCpuMillis("2"), 2000n);
    assert.equal(parseCpuMillis("250m"), 250n);
    assert.equal(parseCpuMillis("2 cores"), undefined);
    assert.equal(parseMemoryBytes("512Mi"), 512n * 1024n * 1024n);
    assert.equal(parseMemoryBytes("1G"), 1_000_000_000n);
    assert.equal(parseMemoryBytes("1e9"), undefined);
  });
});
