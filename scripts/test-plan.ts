/**
 * Which test files share the machine and which need it to themselves. A "heavy" file starts
 * whole systems (several Node processes, HAProxy, a browser, 100 simulated agents) or builds
 * bundles; heavy files run one at a time beside the light ones (two once no light file waits).
 * Everything else is light: its own database, Redis prefix and kernel-chosen ports make it
 * safe to run beside any other file.
 */
const HEAVY = [
  /^e2e\/(browser|browser-audit|console|desktops-browser|local-system|multipod|relay-cluster|tracing)\.test\.ts$/,
  /^e2e\/kubernetes-(agent|failover)\.test\.ts$/,
  // A Podman engine of their own each, desktop containers, and (e2e) the whole system.
  /^e2e\/docker-agent\.test\.ts$/,
  /^agents\/src\/drivers\/docker\/docker-driver\.test\.ts$/,
  /^scripts\/k8s-testbed\/testbed\.test\.ts$/,
  /^e2e\/chaos\//,
  /^scripts\/(bundle|start)\.test\.ts$/,
];

/** The lane a test file runs in. */
export function laneOf(file: string): "heavy" | "light" {
  return HEAVY.some((re) => re.test(file)) ? "heavy" : "light";
}
