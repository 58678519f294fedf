import type { Request, Response } from 'express';
import express from 'express';
import { payloadProblem, type WebhookPayload, webhookPayload } from '../state/alert-payload.js';

/** What the Alertmanager webhook endpoints (`ticketing`, `retraining`) share: the 503 and the body checks. */

// Alertmanager sends at most a few hundred alerts per group; anything near this size is not a webhook.
export const MAX_BODY = '1mb';
const json = express.json({ limit: MAX_BODY, type: () => true });

/** Answers 503 (and returns true) while the state store is not ready. */
export function unavailable(
  res: Response,
  state: { isReady(): boolean; unavailableReason(): string },
): boolean {
  if (state.isReady()) return false;
  // 503: Alertmanager retries, so a notification that arrives while the store is down is not lost.
  res.status(503).type('text/plain').send(`${state.unavailableReason()}\n`);
  return true;
}

/** The body as a version 4 payload, or undefined after answering 400 (or 413) with the first problem. */
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
