/**
 * Remembers the results of finished commands, bounded (least recently used go first).
 * Delivery is at-least-once, so a command can arrive again after it ran: the agent must not
 * run it twice, and must answer with the same result, because the first one may have been
 * lost with the stream that carried it.
 */
import type { CommandResult } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";

/** LRU of command id → result. */
export class CompletedCommands {
  private readonly map = new Map<string, CommandResult>();

  constructor(readonly capacity = 4096) {}

  get(id: string): CommandResult | undefined {
    const r = this.map.get(id);
    if (r) {
      this.map.delete(id);
      this.map.set(id, r);
    }
    return r;
  }

  set(id: string, result: CommandResult): void {
    this.map.delete(id);
    this.map.set(id, result);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.map.delete(oldest);
    }
  }

  /** The most recent ids, newest last; Hello carries them so the control plane can skip redelivery. */
  recentIds(limit: number): string[] {
    return [...this.map.keys()].slice(-limit);
  }
}
