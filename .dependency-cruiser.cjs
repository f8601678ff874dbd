// Dependency direction from CONVENTIONS.md, checked in CI (`npm run lint`).
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
    {
      name: "core-imports-adapter-library",
      comment: "core code stays backend-free; adapters import ioredis, kysely, pg, the kube client",
      severity: "error",
      from: { path: "^(control-plane|agents|dataplane)/src/(domain|runtime|core)/" },
      to: {
        path: "node_modules/(ioredis|kysely|kysely-pglite-dialect|pg|@electric-sql/pglite|@kubernetes/client-node)/",
      },
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
    exclude: { path: "(^|/)(node_modules|dist|gen)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
