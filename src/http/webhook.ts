import type { Request, Response } from 'express';
import express from 'express';
import { payloadProblem, type WebhookPayload, webhookPayload } from '../actions/tickets/alert-payload.js';

/** What the Alertmanager webhook endpoints (`ticketing`, `retraining`) share: the 503 and the body checks. */

// Alertmanager sends at most a few hundred alerts per group; anything near this size is not a webhook.
export const MAX_BODY = '1mb';
// Alerts in one webhook. Each opens a ticket (and queues a tracker event) in one transaction: one post of 10,000
// held the store for its whole write and queued 10,000 issues. Alertmanager can keep a group under it with the
// webhook_config option max_alerts (it sends the first ones and counts the rest in truncatedAlerts).
export const MAX_ALERTS = 1000;
// Seconds; as long as the state service waits before connecting again (src/actions/store/service.ts).
const UNAVAILABLE_RETRY_S = 10;
const json = express.json({ limit: MAX_BODY, type: () => true });

/** Answers 503 (and returns true) while the state store is not ready. */
export function unavailable(
  res: Response,
  state: { isReady(): boolean; unavailableReason(): string },
): boolean {
  if (state.isReady()) return false;
  // 503: Alertmanager retries, so a notification that arrives while the store is down is not lost.
  res
    .status(503)
    .set('Retry-After', String(UNAVAILABLE_RETRY_S))
    .type('text/plain')
    .send(`${state.unavailableReason()}\n`);
  return true;
}

/**
 * The body as a version 4 payload, or undefined after answering 400 (or 413: a body over MAX_BODY, more than
 * MAX_ALERTS alerts) with the first problem. Nothing of a refused payload is stored.
 */
export async function readWebhookPayload(req: Request, res: Response): Promise<WebhookPayload | undefined> {
  const bodyError = await new Promise<unknown>((resolve) => json(req, res, resolve));
  if (bodyError) {
    const e = bodyError as { status?: number; message?: string };
    // 413: too large; 415: a charset or content encoding the parser does not know; anything else is bad JSON.
    const status = e.status === 413 || e.status === 415 ? e.status : 400;
    const why =
      status === 413
        ? `body larger than ${MAX_BODY}`
        : status === 415
          ? e.message
          : `invalid JSON: ${e.message}`;
    res.status(status).type('text/plain').send(`${why}\n`);
    return undefined;
  }
  const count = alertCount(req.body);
  if (count > MAX_ALERTS) {
    res
      .status(413)
      .type('text/plain')
      .send(
        `${count} alerts in one webhook, at most ${MAX_ALERTS}; set max_alerts: ${MAX_ALERTS} in the receiver's webhook_config (Alertmanager then sends the first ${MAX_ALERTS} and counts the rest in truncatedAlerts)\n`,
      );
    return undefined;
  }
  const parsed = webhookPayload.safeParse(req.body);
  if (!parsed.success) {
    res
      .status(400)
      .type('text/plain')
      .send(`not an Alertmanager webhook payload: ${payloadProblem(parsed.error)}\n`);
    return undefined;
  }
  return parsed.data;
}

/** The length of `alerts` before validating them all: a payload over the cap is refused without that work. */
function alertCount(body: unknown): number {
  const alerts = (body as { alerts?: unknown } | null)?.alerts;
  return Array.isArray(alerts) ? alerts.length : 0;
}
