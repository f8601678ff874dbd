/**
 * V8 flags for the processes on the VNC data path (the relay, and the agent's tunnel side).
 * Under streaming load the garbage collector was the largest single cost: the young
 * generation starts at 1 MiB, so buffers that wait a few milliseconds in a socket or HTTP/2
 * queue survive two scavenges and are promoted, and old-space collections follow. A 32 MiB
 * young generation from the start lets them die young (dataplane/README.md, "Runtime flags").
 * Launchers put these before the entry point; they cannot be set once the heap exists.
 */
export const DATA_PATH_NODE_FLAGS: readonly string[] = [
  "--max-semi-space-size=32",
  "--min-semi-space-size=32",
];
