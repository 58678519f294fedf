import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Express, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { allow } from '../http/app.js';
import type { Security } from '../http/auth/security.js';
import { DEMO_SINK_TOKEN } from './builtin-config.js';

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

const digest = (s: string) => createHash('sha256').update(s).digest();
const SINK_AUTH = digest(`Bearer ${DEMO_SINK_TOKEN}`);

/**
 * POST /-/demo/<name>-sink records a call (200) when it carries the sink's own token, as a real retraining or
 * deployment service would insist on; GET lists the calls, newest first, to a viewer.
 */
export function actionSinkRoutes(name: SinkName, sink: ActionSink, log: Logger) {
  const { what, fields } = SINKS[name];
  return (app: Express, security: Security) => {
    app.all(
      sinkPath(name),
      allow(['GET', 'HEAD', 'POST']),
      (req: Request, res: Response, next: () => void) =>
        req.method === 'POST' ? next() : security.guard('viewer')(req, res, next),
      async (req: Request, res: Response) => {
        if (req.method !== 'POST') {
          res.json({ calls: [...sink.calls].reverse() });
          return;
        }
        if (!timingSafeEqual(digest(req.get('authorization') ?? ''), SINK_AUTH)) {
          res
            .status(401)
            .set('WWW-Authenticate', 'Bearer realm="mlwatch-demo-sink"')
            .type('text/plain')
            .send(`the ${what} takes calls with its token only (retrain/rollback headers in the config)\n`);
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
      },
    );
  };
}
