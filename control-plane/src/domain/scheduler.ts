/**
 * Placement (DESIGN.md §4): the online agent with the lowest active/capacity ratio that matches
 * platform, region and labels. The reservation is one conditional UPDATE per candidate inside
 * the caller's transaction, so if the session insert later fails the slot comes back with it.
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

/** Picks and reserves one agent slot or throws resource_exhausted saying why. */
export async function schedule(
  tx: Repos,
  template: Template,
  region: string,
  labels: Record<string, string>,
): Promise<Agent> {
  const placement = placementFor(template, region, labels);
  const tried = new Set<string>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const candidates = (await tx.agents.candidates(placement, ROUND + tried.size)).filter(
      (a) => !tried.has(a.id),
    );
    if (candidates.length === 0) break;
    for (const a of candidates) {
      tried.add(a.id);
      if (await tx.agents.reserve(a.id)) return { ...a, activeSessions: a.activeSessions + 1 };
    }
  }
  const matched = await tx.agents.countMatching(placement);
  const where = placement.region ? `in region ${placement.region}` : "in any region";
  if (matched === 0) {
    throw new DomainError(
      "resource_exhausted",
      `No online agent matches template ${template.name} (${describe(placement)}); start or approve such an agent, or pick another template.`,
    );
  }
  throw new DomainError(
    "resource_exhausted",
    `No agent has free capacity for template ${template.name} ${where}; ${matched} agents matched, all full. Try later or ask an operator to add capacity.`,
  );
}
