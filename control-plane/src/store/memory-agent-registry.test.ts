import { runAgentRegistryCases } from "./agent-registry-cases.ts";
import { MemoryAgentRegistry } from "./memory-agent-registry.ts";

runAgentRegistryCases("memory", async () => {
  const registry = new MemoryAgentRegistry();
  return { registry, revoke: async (id) => registry.revoke(id) };
});
