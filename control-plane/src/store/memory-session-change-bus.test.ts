import { MemorySessionChangeBus } from "./memory-session-change-bus.ts";
import { runSessionChangeBusCases } from "./session-change-bus-cases.ts";

// One pod: every "pod" of the network is the same bus.
runSessionChangeBusCases("memory", async () => {
  const bus = new MemorySessionChangeBus();
  return { bus: async () => bus, [Symbol.asyncDispose]: () => bus.close() };
});
