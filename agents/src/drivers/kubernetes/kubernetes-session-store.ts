/**
 * Where the Kubernetes driver remembers what its objects cannot say: sessions that ended with
 * no control plane told (the agent stopped them on its way out, AGENT_STOP_SESSIONS_ON_EXIT).
 * Their Deployments are gone, so the record lives in one ConfigMap per agent in the sessions'
 * namespace — shared by every replica of the agent, so the next leader reports them too —
 * until a control plane has heard (forgetEnded).
 *
 * Which sessions run needs no store at all: the driver's informers find every object labelled
 * with this agent's id, after a restart or on a new leader alike.
 */
import { createHash } from "node:crypto";
import type { Logger } from "@streamspace/common/log";
import type { KubeClients } from "../../ha/kubernetes-client.ts";
import { isAlreadyExists, isNotFound, kubeFailure } from "./kube-errors.ts";
import { labelValue } from "./kubernetes-session-spawn.ts";
import { LABELS, MANAGED_BY } from "./kubernetes-session-state.ts";

/** At most this many ended records are kept; the oldest go first (the control plane then fails them as lost). */
const MAX_RECORDS = 2_000;

/** The ConfigMap's name for an agent id (a DNS name whatever the id). */
export function endedRecordsName(agentId: string): string {
  const safe = /^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(agentId)
    ? agentId
    : createHash("sha256").update(agentId).digest("hex").slice(0, 16);
  return `streamspace-ended-${safe}`;
}

/** The ended-session records of one agent: sessionId → reason. */
export class EndedRecords {
  private records = new Map<string, string>();
  private readonly name: string;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly clients: KubeClients,
    private readonly namespace: string,
    private readonly agentId: string,
    private readonly log: Logger,
  ) {
    this.name = endedRecordsName(agentId);
  }

  /** Reads the records (none when the ConfigMap does not exist yet). */
  async load(): Promise<void> {
    try {
      const cm = await this.clients.core.readNamespacedConfigMap({
        name: this.name,
        namespace: this.namespace,
      });
      this.records = new Map(Object.entries(cm.data ?? {}));
    } catch (err) {
      if (isNotFound(err)) return;
      throw kubeFailure(err, {
        verb: "get",
        resource: "configmaps",
        namespace: this.namespace,
        name: this.name,
      });
    }
  }

  entries(): [string, string][] {
    return [...this.records];
  }

  has(sessionId: string): boolean {
    return this.records.has(sessionId);
  }

  /** Adds records and writes them through. */
  add(entries: readonly { sessionId: string; reason: string }[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    for (const e of entries) {
      this.records.delete(e.sessionId);
      this.records.set(e.sessionId, e.reason);
    }
    while (this.records.size > MAX_RECORDS) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) break;
      this.records.delete(oldest);
    }
    return this.flush();
  }

  /** Removes records (no write when none of them was there). */
  remove(sessionIds: readonly string[]): Promise<void> {
    let changed = false;
    for (const id of sessionIds) changed = this.records.delete(id) || changed;
    return changed ? this.flush() : Promise.resolve();
  }

  /** Writes the whole map; serialised, and last writer wins, which is this leader. */
  private flush(): Promise<void> {
    const next = this.writing.then(() => this.write());
    this.writing = next.catch(() => {});
    return next;
  }

  private async write(): Promise<void> {
    const body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: this.name,
        labels: {
          [LABELS.managedBy]: MANAGED_BY,
          [LABELS.agentId]: labelValue(this.agentId),
          "streamspace.io/role": "ended-sessions",
        },
      },
      data: Object.fromEntries(this.records),
    };
    const action = {
      verb: "update" as const,
      resource: "configmaps",
      namespace: this.namespace,
      name: this.name,
    };
    try {
      await this.clients.core.replaceNamespacedConfigMap({
        name: this.name,
        namespace: this.namespace,
        body,
      });
    } catch (err) {
      if (!isNotFound(err)) throw kubeFailure(err, action);
      try {
        await this.clients.core.createNamespacedConfigMap({ namespace: this.namespace, body });
      } catch (e) {
        if (!isAlreadyExists(e)) throw kubeFailure(e, { ...action, verb: "create" });
        this.log.warn("ended-session records were created concurrently; retrying", {});
        await this.clients.core.replaceNamespacedConfigMap({
          name: this.name,
          namespace: this.namespace,
          body,
        });
      }
    }
  }
}
