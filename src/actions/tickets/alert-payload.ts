import { z } from 'zod';

/**
 * Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
 * Only what the ticket log and the retraining trigger read is required; other fields pass through.
 */
// Postgres keeps neither NUL nor a lone UTF-16 surrogate in text or jsonb: such a string is refused with a
// reason (400), not left to fail in the store (500). Alertmanager itself never sends them.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (v: string) => v.includes('\u0000') || LONE_SURROGATE.test(v);
const UNSTORABLE_MESSAGE = 'contains a NUL character or a lone surrogate, which the state store cannot keep';
const storable = (typeError: string) =>
  z.string({ error: typeError }).refine((v) => !unstorable(v), { error: UNSTORABLE_MESSAGE });
const stringMap = (what: string, one: string) =>
  z
    .record(z.string(), storable(`expected ${one} values as strings`), {
      error: `expected ${what} as an object of strings`,
    })
    .superRefine((map, ctx) => {
      for (const name of Object.keys(map)) {
        if (unstorable(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `a name ${UNSTORABLE_MESSAGE}`,
            path: [JSON.stringify(name)],
          });
        }
      }
    });

// The regex alone takes year 0000, which Postgres refuses (there is no year 0).
const timestamp = z.iso
  .datetime({ offset: true, error: 'expected an RFC 3339 timestamp' })
  .refine((v) => !v.startsWith('0000-'), { error: 'expected an RFC 3339 timestamp after year 0000' });

// Indexed columns (a btree entry holds at most ~2.7 kB): a longer value is not an Alertmanager alert.
const MAX_INDEXED = 256;

export const webhookAlert = z.object({
  status: z.enum(['firing', 'resolved'], { error: "expected status 'firing' or 'resolved'" }),
  labels: stringMap('labels', 'label').superRefine((labels, ctx) => {
    for (const name of ['team', 'layer']) {
      if ((labels[name]?.length ?? 0) > MAX_INDEXED) {
        ctx.addIssue({ code: 'custom', message: `longer than ${MAX_INDEXED} characters`, path: [name] });
      }
    }
  }),
  annotations: stringMap('annotations', 'annotation').default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: storable('expected the alert fingerprint')
    .min(1, { error: 'expected the alert fingerprint' })
    .max(MAX_INDEXED, { error: `expected a fingerprint of at most ${MAX_INDEXED} characters` }),
});

export const webhookPayload = z.object({
  version: z.literal('4', { error: 'expected version "4" (Alertmanager webhook payload)' }),
  receiver: z.string().optional(),
  status: z.enum(['firing', 'resolved']).optional(),
  alerts: z.array(webhookAlert, { error: 'expected alerts as a list' }),
});

export type WebhookAlert = z.output<typeof webhookAlert>;
export type WebhookPayload = z.output<typeof webhookPayload>;

/** The first problem of a payload that does not parse, as "alerts[0].fingerprint: expected ...". */
export function payloadProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`))
    .join('');
  return path ? `${path}: ${issue.message}` : issue.message;
}
