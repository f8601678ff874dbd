/**
 * Placement (DESIGN.md §4): the online agent with the lowest active/capacity ratio that matches
 * platform, region and labels. The reservation is one conditional UPDATE per candidate inside
 * the same statement as the session insert, so a failed insert never keeps a slot.
 *
 * The reservation and the rows it pays for are written by ONE statement (see
 * SessionRepo.insertScheduled): the agent's row lock, which every concurrent create aimed at
 * that agent queues on, is then held for one statement instead of a whole transaction, which
 * is what lets one hot agent take hundreds of creates a second.
 */
import { DomainError } from "./errors.ts";
import type { Placement, Repos } from "./ports.ts";
import type { Agent, Template } from "./types.ts";

/** Candidates fetched per round; losing every race in a round triggers a fresh read. */
const ROUND = 16;
const MAX_ROUNDS = 4;

/** The placement a template plus request constraints ask for; request labels add to the template's. */
export function placementFor(
  t: Template,
  region: string,
  labels: Record<string, string>,
): Placement {
  return {
    platform: t.platform,
    region: region || t.region,
    labels: { ...t.requiredLabels, ...labels },
  };
}

function describe(p: Placement): string {
  const parts = [`platform ${p.platform || "any"}`, `region ${p.region || "any"}`];
  const labels = Object.entries(p.labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length) parts.push(`labels ${labels.join(",")}`);
  return parts.join(", ");
}

/**
 * Tries candidates in order until `tryAgent` (which reserves atomically) succeeds, or refuses
 * with the code a client can act on: resource_exhausted only when matching agents are online
 * and full (back off and retry); unavailable when they exist but none is online (retry once
 * one reconnects) or the online ones report a platform problem (its words are passed on); failed_precondition when no agent that could ever run the template is
 * registered (retrying cannot help; an operator must add or approve one). Losing a race on one
 * agent just moves on to the next.
 */
export async function schedule<T>(
  tx: Repos,
  template: Template,
  region: string,
  labels: Record<string, string>,
  tryAgent: (agent: Agent) => Promise<T | undefined>,
): Promise<T> {
  const placement = placementFor(template, region, labels);
  const tried = new Set<string>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const candidates = (await tx.agents.candidates(placement, ROUND + tried.size)).filter(
      (a) => !tried.has(a.id),
    );
    if (candidates.length === 0) break;
    for (const a of candidates) {
      tried.add(a.id);
      const placed = await tryAgent(a);
      if (placed !== undefined) return placed;
    }
  }
  const matched = await tx.agents.countMatching(placement);
  const online = matched.online ?? 0;
  const away = (matched.offline ?? 0) + (matched.draining ?? 0);
  const where = placement.region ? `in region ${placement.region}` : "in any region";
  if (online > 0) {
    throw new DomainError(
      "resource_exhausted",
      `No agent has free capacity for template ${template.name} ${where}; ${online} agents matched, all full. Try later or ask an operator to add capacity.`,
    );
  }
  if (matched.troubled) {
    throw new DomainError(
      "unavailable",
      `No agent that can run template ${template.name} (${describe(placement)}) can start desktops now: ${matched.troubled} matching agents report a platform problem (${matched.problem}). Try again later, or ask an operator.`,
    );
  }
  if (away > 0) {
    throw new DomainError(
      "unavailable",
      `No agent that can run template ${template.name} (${describe(placement)}) is online: ${away} matching agents are offline or draining. Try again when one reconnects, or ask an operator.`,
    );
  }
  throw new DomainError(
    "failed_precondition",
    `No online agent matches template ${template.name} (${describe(placement)}); start or approve such an agent, or pick another template.`,
  );
}
