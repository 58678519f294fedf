import { z } from 'zod';
import { duration } from '../../config/types.js';
import { credentialsToHeader } from '../../config/url-credentials.js';
import { redactUrl } from '../../redact.js';

/**
 * `state.ticket_forward`: where the ticket log forwards its events (an external tracker's issue-create API, or
 * a small adapter in front of it). Without it nothing is forwarded and nothing is queued.
 */
export const TICKET_EVENTS = ['opened', 'resolved'] as const;
export type TicketEvent = (typeof TICKET_EVENTS)[number];
export const DEFAULT_FORWARD_TIMEOUT_MS = 10_000;
/** Events a second sent to the tracker, per replica: a flood of tickets reaches it at this pace. */
export const DEFAULT_FORWARD_RATE = '10/s';

const RATE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };
const RATE_FIX = 'write it like 10/s, 80/m or 500/h (events a second, minute or hour)';

/** `10/s`, `80/m`, `500/h` -> events a second. Trackers state their API limits per minute or hour. */
const rate = z.string({ error: `expected a rate; ${RATE_FIX}` }).transform((text, ctx) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([smh])\s*$/.exec(text);
  const perSecond = m ? Number(m[1]) / (RATE_UNITS[m[2] as string] as number) : 0;
  if (!(perSecond > 0)) {
    ctx.addIssue({ code: 'custom', message: `'${text}' is not a rate above 0; ${RATE_FIX}` });
    return z.NEVER;
  }
  return perSecond;
});

const ticketForwardFields = z.strictObject({
  url: z.url({
    protocol: /^https?$/,
    error: (iss) =>
      iss.input === undefined
        ? 'missing; give the http(s) URL that receives the ticket events, e.g. https://tracker/api/issues'
        : `'${redactUrl(String(iss.input))}' is not an http(s) URL; give the URL that receives the ticket events, e.g. https://tracker/api/issues`,
  }),
  // Values may say ${TRACKER_TOKEN}: the config loader expands the environment in every value.
  headers: z
    .record(z.string(), z.string({ error: 'expected header values as strings' }), {
      error: 'expected headers as a map of name: value',
    })
    .optional(),
  timeout: duration('a timeout').default(DEFAULT_FORWARD_TIMEOUT_MS),
  // Every attempt counts, failed ones too: the tracker's API limit does not care whether it answered 2xx.
  rate: rate.prefault(DEFAULT_FORWARD_RATE),
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

// https://user:pw@tracker/api: the user and password go in an authorization header.
export const ticketForwardConfig = ticketForwardFields.transform(credentialsToHeader('url'));

export type TicketForwardConfig = z.output<typeof ticketForwardConfig>;
