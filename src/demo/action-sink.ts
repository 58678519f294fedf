import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { only } from '../http/app.js';

/** One call as a demo stand-in service (retraining, deployment) received it. */
export interface SinkCall {
  receivedAt: string;
  /**
   * mlwatch sends `idempotency-key: mlwatch-retrain-<id>` or `mlwatch-rollback-<id>`; a key seen before marks a
   * re-sent request.
   */
  idempotencyKey: string | null;
  duplicate: boolean;
  body: unknown;
}

// The demo runs for hours at most; the newest calls are what a user looks at.
const KEEP = 100;
const json = express.json({ limit: '256kb', type: () => true });

/**
 * A service the demo stands in for: credit_default's `retrain.webhook` and `rollback.webhook` point at one each,
 * so a retraining request or an approved rollback ends in a call a user can see. It only records, in memory:
 * the requests themselves are in the state store.
 */
export class ActionSink {
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

/** The sinks of the demo, each at /-/demo/<name>-sink. */
export const SINKS = {
  retrain: { what: 'demo retraining service', fields: ['id', 'model', 'reason'] },
  rollback: { what: 'demo deployment service (rollbacks)', fields: ['id', 'model', 'to_version'] },
} as const;
export type SinkName = keyof typeof SINKS;

export const sinkPath = (name: SinkName) => `/-/demo/${name}-sink`;

/** POST /-/demo/<name>-sink records a call (200); GET lists them, newest first. */
export function actionSinkRoutes(name: SinkName, sink: ActionSink, log: Logger) {
  const { what, fields } = SINKS[name];
  return (app: Express) => {
    app.all(
      sinkPath(name),
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
        // The few fields that say which request this was; the whole body is at GET.
        const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<
          string,
          unknown
        >;
        log.info(
          { ...Object.fromEntries(fields.map((f) => [f, body[f]])), duplicate: call.duplicate },
          `${what}: request received`,
        );
        res.json({ received: true, duplicate: call.duplicate });
      }),
    );
  };
}
