// Dependency direction from CONVENTIONS.md, checked in CI (`npm run lint`).
const TEST_CODE = "(\\.test\\.ts$|(^|/)testing/|test-kit\\.ts$|test-server\\.ts$|-cases\\.ts$)";
const ADAPTER_LIBS =
  "ioredis|kysely|kysely-pglite-dialect|pg|pg-pool|@electric-sql/pglite|@kubernetes/client-node|dockerode";
const deployables = ["control-plane", "dataplane", "agents", "web"];
const otherDeployable = (self) => deployables.filter((d) => d !== self).join("|");
// Files a deployable publishes through its package.json "exports" (e.g. "@streamspace/dataplane/ring")
// are its public surface: importing them through the package name is the sanctioned path.
const published = deployables.flatMap((d) => {
  let exp = {};
  try {
    exp = require(`./${d}/package.json`).exports ?? {};
  } catch {}
  return Object.values(exp)
    .filter((t) => typeof t === "string")
    .map((t) => `^${d}/${t.replace(/^\.\//, "").replace(/[.]/g, "\\.")}$`);
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...deployables.map((self) => ({
      name: `${self}-imports-other-deployable`,
      comment: `${self}/ talks to other deployables only through proto/ clients and published exports`,
      severity: "error",
      from: { path: `^${self}/` },
      to: {
        path: `^(${otherDeployable(self)})/`,
        // web/ may import the tRPC router *type* that control-plane publishes.
        pathNot: [
          ...(self === "web" ? ["^control-plane/src/trpc/router\\.ts$"] : []),
          ...published,
        ],
      },
    })),
    {
      name: "common-imports-deployable",
      comment: "common/ is the library every deployable shares, so it depends on none of them",
      severity: "error",
      from: { path: "^common/" },
      to: { path: "^(control-plane|dataplane|agents|web|e2e|bench|scripts)/" },
    },
    {
      name: "web-imports-router-at-runtime",
      comment: "web/ may import only the router type, never control-plane code",
      severity: "error",
      from: { path: "^web/" },
      to: { path: "^control-plane/", dependencyTypesNot: ["type-only"] },
    },
    // Layers (CONVENTIONS.md "Layout and dependency direction"). Test files and test kits may
    // wire real adapters, so the layer rules look at production code only.
    {
      name: "domain-imports-only-domain-proto-kit",
      comment: "domain/ is the core: it imports only domain/, the generated protos and the kit",
      severity: "error",
      from: { path: "^control-plane/src/domain/", pathNot: TEST_CODE },
      to: {
        dependencyTypesNot: ["core", "npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg"],
        pathNot: ["^control-plane/src/domain/", "^proto/", "^common/src/"],
      },
    },
    {
      name: "domain-imports-adapter-library",
      comment: "domain/ stays backend-free: no database, Redis, HTTP or RPC library",
      severity: "error",
      from: { path: "^control-plane/src/domain/", pathNot: TEST_CODE },
      to: { path: `node_modules/(${ADAPTER_LIBS}|@connectrpc|@trpc|ws)/` },
    },
    {
      name: "transport-reaches-store",
      comment:
        "connect/ and trpc/ call the domain; they never reach store/ (directly or through another module)",
      severity: "error",
      from: { path: "^control-plane/src/(connect|trpc)/", pathNot: TEST_CODE },
      to: { path: "^control-plane/src/store/", reachable: true },
    },
    {
      name: "adapter-library-outside-adapters",
      comment:
        "only store/, the Redis adapters (redis-*.ts), the platform drivers and the composition roots import kysely, pg, PGlite, ioredis, the kube client or dockerode",
      severity: "error",
      from: {
        path: "^(control-plane|agents|dataplane|common)/src/",
        pathNot: [
          TEST_CODE,
          "^control-plane/src/store/",
          "/redis-[^/]*\\.ts$",
          "^control-plane/src/(app|main)\\.ts$",
          "^control-plane/src/app/",
          "^(agents|dataplane)/src/main\\.ts$",
          "^agents/src/(drivers|ha)/kubernetes/",
          "^agents/src/drivers/docker/",
          "^agents/src/ha/kubernetes-",
        ],
      },
      to: { path: `node_modules/(${ADAPTER_LIBS})/` },
    },
    {
      name: "gateway-imports-store-or-transport",
      comment:
        "gateway/ talks to Postgres through its ports (gateway-ports.ts), and never to the public API transports",
      severity: "error",
      from: { path: "^control-plane/src/gateway/", pathNot: TEST_CODE },
      to: { path: "^control-plane/src/(store|connect|trpc|server)/" },
    },
    {
      name: "auth-imports-store-or-transport",
      comment:
        "auth/ reaches the database through its port and is called by the transports, never the reverse",
      severity: "error",
      from: { path: "^control-plane/src/auth/", pathNot: TEST_CODE },
      to: { path: "^control-plane/src/(store|connect|trpc|server|gateway)/" },
    },
    {
      name: "store-imports-transport",
      comment: "store/ implements the core's ports; it knows nothing of RPC or HTTP",
      severity: "error",
      from: { path: "^control-plane/src/store/", pathNot: TEST_CODE },
      to: { path: "^control-plane/src/(connect|trpc|server|app)/" },
    },
    {
      name: "store-runs-core-code",
      comment:
        "store/ fills the ports that gateway/ and auth/ declare (type imports); wiring their runtime is the composition root's job",
      severity: "error",
      from: { path: "^control-plane/src/store/", pathNot: TEST_CODE },
      to: { path: "^control-plane/src/(gateway|auth)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "agent-runtime-imports-driver-or-ha-backend",
      comment:
        "the agent runtime uses the Driver interface; drivers and HA backends are chosen by the composition root",
      severity: "error",
      from: { path: "^agents/src/runtime/", pathNot: TEST_CODE },
      to: { path: "^agents/src/(drivers|ha)/" },
    },
    {
      name: "driver-imports-another-driver",
      comment:
        "drivers/{local,docker,kubernetes}/ are parallel: each may use the shared driver code, never a sibling",
      severity: "error",
      from: { path: "^agents/src/drivers/(local|docker|kubernetes)/" },
      to: {
        path: "^agents/src/drivers/(local|docker|kubernetes)/",
        pathNot: "^agents/src/drivers/$1/",
      },
    },
    {
      name: "ha-imports-runtime-or-drivers",
      comment:
        "leader election knows leases only; the runtime and the drivers depend on it, not the reverse",
      severity: "error",
      from: { path: "^agents/src/ha/", pathNot: TEST_CODE },
      to: { path: "^agents/src/(runtime|drivers|relay)/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^(common|control-plane|dataplane|agents)/src" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // node_modules stays in the graph (not followed) so the adapter-library rules can see it.
    exclude: { path: "^[a-z-]+/(dist|gen)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
