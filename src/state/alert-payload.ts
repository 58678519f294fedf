import { z } from 'zod';

/**
 * Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
 * Only what the ticket log and the retraining trigger read is required; other fields pass through.
 */
const timestamp = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 timestamp' });

export const webhookAlert = z.object({
  status: z.enum(['firing', 'resolved'], { error: "expected status 'firing' or 'resolved'" }),
  labels: z.record(z.string(), z.string(), { error: 'expected labels as an object of strings' }),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string({ error: 'expected the alert fingerprint' }).min(1),
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
