// The images' health check, run by the container engine (Docker/Podman HEALTHCHECK): exits 0
// when the URL answers 2xx within the deadline, 1 otherwise. Images have no shell or curl, and
// Kubernetes probes the same endpoints itself, so this stays a few lines of plain Node.
const url = process.argv[2] ?? "http://127.0.0.1:8080/health";
const deadline = AbortSignal.timeout(Number(process.env.HEALTHCHECK_TIMEOUT_MS ?? 3000));
try {
  const res = await fetch(url, { signal: deadline });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
