import { z } from 'zod';

/**
 * The values the alert labels `team` and `layer` take: the bundle's alert contract (tools/bundle-contract.ts
 * reads these lists, so the rules and the ticket gauge agree), plus what an operator lists in
 * `state.ticket_labels` for the teams of their own rules. mlwatch_tickets takes its team and layer labels only
 * from these sets: any other value is counted under `other`, so a flood of alerts with made-up teams adds at
 * most one series instead of one per team. The tickets themselves keep the real values.
 */
export const ALERT_TEAMS = ['platform', 'data-science', 'business'] as const;
export const ALERT_LAYERS = ['data', 'model', 'system', 'business'] as const;

/** The series every value outside the known set is counted under. */
export const OTHER_LABEL_VALUE = 'other';

// A sanity bound, not a tuning knob: each listed value may become a series per state and layer.
const MAX_EXTRA = 50;

const extraValues = (label: string) =>
  z
    .array(
      z
        .string({ error: `expected ${label} values as strings` })
        .min(1, { error: `an empty ${label} counts as a missing label; list only real values` })
        .max(256, { error: `a ${label} value of at most 256 characters` })
        .refine((v) => v !== OTHER_LABEL_VALUE, {
          error: `'${OTHER_LABEL_VALUE}' is where unlisted ${label} values are counted; pick another name`,
        }),
      { error: `expected a list of ${label} values, e.g. [fraud, search]` },
    )
    .max(MAX_EXTRA, { error: `at most ${MAX_EXTRA} ${label} values; each one is a series of its own` })
    .default([]);

/** `state.ticket_labels`: team and layer values of the operator's own rules, on top of the bundle's. */
export const ticketLabelsConfig = z
  .strictObject({ team: extraValues('team'), layer: extraValues('layer') })
  .prefault({});

export type TicketLabelsConfig = z.output<typeof ticketLabelsConfig>;

export interface KnownTicketLabels {
  team: readonly string[];
  layer: readonly string[];
}

/** The bundle's values plus the configured ones. */
export function knownTicketLabels(extra?: Partial<TicketLabelsConfig>): KnownTicketLabels {
  return {
    team: [...new Set([...ALERT_TEAMS, ...(extra?.team ?? [])])],
    layer: [...new Set([...ALERT_LAYERS, ...(extra?.layer ?? [])])],
  };
}
