import { z } from 'zod';
import { duration } from '../config/types.js';

/**
 * `state.ticket_forward`: where the ticket log forwards its events (an external tracker's issue-create API, or
 * a small adapter in front of it). Without it nothing is forwarded and nothing is queued.
 */
export const TICKET_EVENTS = ['opened', 'resolved'] as const;
export type TicketEvent = (typeof TICKET_EVENTS)[number];
export const DEFAULT_FORWARD_TIMEOUT_MS = 10_000;

export const ticketForwardConfig = z.strictObject({
  url: z.url({
    protocol: /^https?$/,
    error: (iss) =>
      iss.input === undefined
        ? 'missing; give the http(s) URL that receives the ticket events, e.g. https://tracker/api/issues'
        : `'${String(iss.input)}' is not an http(s) URL; give the URL that receives the ticket events, e.g. https://tracker/api/issues`,
  }),
  // Values may say ${TRACKER_TOKEN}: the config loader expands the environment in every value.
  headers: z
    .record(z.string(), z.string({ error: 'expected header values as strings' }), {
      error: 'expected headers as a map of name: value',
    })
    .optional(),
  timeout: duration('a timeout').default(DEFAULT_FORWARD_TIMEOUT_MS),
  on: z
    .array(
      z.enum(TICKET_EVENTS, {
        error: (iss) => `'${String(iss.input)}' is not a ticket event; use opened or resolved`,
      }),
      { error: 'expected a list of events, e.g. [opened, resolved]' },
    )
    .min(1, { error: 'give at least one event (opened, resolved), or remove ticket_forward' })
    .default([...TICKET_EVENTS]),
});

export type TicketForwardConfig = z.output<typeof ticketForwardConfig>;
