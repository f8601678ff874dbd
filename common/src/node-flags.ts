/**
 * V8 flags for the processes on the VNC data path (the relay, and the agent's tunnel side).
 * Under streaming load the garbage collector was the largest single cost: the young
 * generation starts at 1 MiB, so buffers that wait a few milliseconds in a socket or HTTP/2
 * queue survive two scavenges and are promoted, and old-space collections follow. Letting the
 * young generation grow to 32 MiB lets them die young; it is not fixed at 32 MiB from the start
 * because that turns connection set-up state into one long scavenge mid-stream (p999 28 ms vs
 * 8.6 ms; dataplane/README.md, "Runtime flags").
 * Launchers put these before the entry point; they cannot be set once the heap exists.
 */
export const DATA_PATH_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=32"];
