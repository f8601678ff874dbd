import { runAgentHubCases } from "./agent-hub-cases.ts";
import { MemoryAgentHub, MemoryHubNetwork } from "./memory-agent-hub.ts";

const net = new MemoryHubNetwork();
runAgentHubCases("memory", async (pod) => new MemoryAgentHub(pod, net));
