import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { only } from '../http/app.js';

/** One retraining request as the demo's stand-in retraining service received it. */
export interface SinkCall {
  receivedAt: string;
  /** mlwatch sends `idempotency-key: mlwatch-retrain-<id>`; a key seen before marks a re-sent request. */
  idempotencyKey: string | null;
  duplicate: boolean;
  body: unknown;
}

// The demo runs for hours at most; the newest calls are what a user looks at.
const KEEP = 100;
const json = express.json({ limit: '256kb', type: () => true });

/**
 * The demo's retraining service: credit_default's `retrain.webhook` points here, so a retraining request
 * (the `auc` incident through Alertmanager's `retraining` receiver, or `POST /api/v1/retrain`) ends in a call
 * a user can see. It only records, in memory: the requests themselves are in the state store.
 */
export class RetrainSink {
  readonly calls: SinkCall[] = [];
  private readonly keys = new Set<string>();

  record(idempotencyKey: string | null, body: unknown, at = new Date()): SinkCall {
    const duplicate = idempotencyKey !== null && this.keys.has(idempotencyKey);
    if (idempotencyKey !== null) this.keys.add(idempotencyKey);
    const call = { receivedAt: at.toISOString(), idempotencyKey, duplicate, body };
    this.calls.push(call);
    if (this.calls.length > KEEP) this.calls.shift();
    return call;
  }
}

/** POST /-/demo/retrain-sink records a call (200); GET lists them, newest first. */
export function retrainSinkRoutes(sink: RetrainSink, log: Logger) {
  return (app: Express) => {
    app.all(
      '/-/demo/retrain-sink',
      only(['GET', 'HEAD', 'POST'], async (req, res) => {
        if (req.method !== 'POST') {
          res.json({ calls: [...sink.calls].reverse() });
          return;
        }
        const bodyError = await new Promise<unknown>((resolve) => json(req, res, resolve));
        if (bodyError) {
          const status = (bodyError as { status?: number }).status === 413 ? 413 : 400;
          res
            .status(status)
            .type('text/plain')
            .send(`${(bodyError as Error).message}\n`);
          return;
        }
        const call = sink.record(req.get('idempotency-key') ?? null, req.body);
        const body = req.body as { id?: unknown; model?: unknown; reason?: unknown };
        log.info(
          { id: body.id, model: body.model, reason: body.reason, duplicate: call.duplicate },
          'demo retraining service: request received',
        );
        res.json({ received: true, duplicate: call.duplicate });
      }),
    );
  };
}
