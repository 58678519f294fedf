import type { Express, Request, Response } from 'express';
import { RETRAIN_STATES, type RetrainState } from '../actions/retrain/retrain.js';
import type { RetrainService } from '../actions/retrain/retrain-service.js';
import type { StoreService } from '../actions/store/service.js';
import { allow } from './app.js';
import type { Security } from './auth/security.js';
import { readWebhookPayload, unavailable } from './webhook.js';

/** POST /api/v1/retrain (the `retraining` receiver's webhook) and GET /api/v1/retrain/requests. */
export function retrainRoutes(state: StoreService, retrain: RetrainService, security: Security) {
  return (app: Express) => {
    app.all(
      '/api/v1/retrain',
      allow(['POST']),
      security.guard('webhook'),
      async (req: Request, res: Response) => {
        if (unavailable(res, state)) return;
        const payload = await readWebhookPayload(req, res);
        if (!payload) return;
        res.json(await retrain.ingestAlerts(payload.alerts));
      },
    );
    app.all(
      '/api/v1/retrain/requests',
      allow(['GET', 'HEAD']),
      security.guard('viewer'),
      async (req: Request, res: Response) => {
        if (unavailable(res, state)) return;
        const q = req.query;
        const stateFilter = typeof q.state === 'string' ? q.state : undefined;
        if (stateFilter !== undefined && !(RETRAIN_STATES as readonly string[]).includes(stateFilter)) {
          res
            .status(400)
            .type('text/plain')
            .send(`state must be one of ${RETRAIN_STATES.join(', ')}, not '${stateFilter}'\n`);
          return;
        }
        const requests = await retrain.log.list({
          model: typeof q.model === 'string' ? q.model : undefined,
          state: stateFilter as RetrainState | undefined,
          limit: 1000,
        });
        res.json({ requests });
      },
    );
  };
}
