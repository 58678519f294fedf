import { z } from 'zod';
import { closest } from '../../config/messages.js';
import { duration } from '../../config/types.js';
import { knownTicketLabels, type TicketLabelsConfig } from './ticket-labels.js';

/**
 * Hand-offs (docs/handoff_plan.md): every page is platform on-call's first; a responder hands a ticket to data
 * science (`mlwatch tickets handoff`), and a page of the listed layers that nobody acknowledged within `after`
 * of its opening is handed off automatically.
 */

/**
 * The teams a ticket can be handed off to: those Alertmanager has a hand-off route for (MlwatchTicketHandedOff,
 * which matches handed_off_to="data-science", reaches the model owner's receiver: the bundle config's
 * owners.model, data science by default). A hand-off to a team without one would be recorded and reach nobody, so
 * it is refused instead. These are role names: they stay whatever the bundle calls the model owner's team.
 */
export const HANDOFF_TEAMS = ['data-science'] as const;
export type HandoffTeam = (typeof HANDOFF_TEAMS)[number];

/** Who the automatic hand-off is recorded as, in the ticket and its history. */
export const AUTOMATIC_ACTOR = 'mlwatch (automatic)';

export const DEFAULT_HANDOFF_AFTER_MS = 15 * 60_000;

export const handoffConfig = z
  .strictObject({
    // The design's first 15 minutes of a page are platform's (docs/handoff_plan.md, section 1).
    after: duration('a time').default(DEFAULT_HANDOFF_AFTER_MS),
    // Layers whose unacknowledged pages go to data science by themselves; [] turns the automatic hand-off off.
    layers: z
      .array(z.string({ error: 'expected layer names as strings, e.g. model' }), {
        error: 'expected a list of layers, e.g. [model]; [] for no automatic hand-off',
      })
      .default(['model']),
  })
  .prefault({});

export type HandoffConfig = z.output<typeof handoffConfig>;

/**
 * A layer nobody's alerts carry would make the automatic hand-off silently never happen: each must be one of the
 * alert contract's layers or state.ticket_labels.layer.
 */
export function checkHandoffLayers(
  state: { handoff: HandoffConfig; ticket_labels: TicketLabelsConfig },
  ctx: z.RefinementCtx,
): void {
  const known = knownTicketLabels(state.ticket_labels).layer;
  state.handoff.layers.forEach((layer, i) => {
    if (known.includes(layer)) return;
    const near = closest(layer, known);
    ctx.addIssue({
      code: 'custom',
      path: ['handoff', 'layers', i],
      message: `'${layer}' is not a layer alerts carry (${known.join(', ')}; add your own to state.ticket_labels.layer)${near ? `; did you mean '${near}'?` : ''}`,
    });
  });
}

/** How often each replica looks for tickets due for the automatic hand-off: a fifth of `after`, 1 s to 30 s. */
export function handoffPollMs(afterMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.round(afterMs / 5)));
}
