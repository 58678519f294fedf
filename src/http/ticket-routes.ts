import type { Express, Request, Response } from 'express';
import express from 'express';
import { payloadProblem, webhookPayload } from '../state/alert-payload.js';
import type { StateService } from '../state/service.js';
import { TICKET_STATES, type TicketFilter, type TicketState } from '../state/tickets.js';
import { only } from './app.js';

// Alertmanager sends at most a few hundred alerts per group; anything near this size is not a webhook.
const MAX_BODY = '1mb';

function unavailable(res: Response, state: StateService): boolean {
  if (state.isReady()) return false;
  // 503: Alertmanager retries, so a notification that arrives while the store is down is not lost.
  res.status(503).type('text/plain').send(`${state.unavailableReason()}\n`);
  return true;
}

function filterFrom(req: Request): TicketFilter | string {
  const q = req.query;
  const one = (name: string) => (typeof q[name] === 'string' ? (q[name] as string) : undefined);
  const state = one('state');
  if (state !== undefined && !(TICKET_STATES as readonly string[]).includes(state)) {
    return `state must be one of ${TICKET_STATES.join(', ')}, not '${state}'`;
  }
  const limitText = one('limit');
  const limit = limitText === undefined ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return `limit must be a whole number from 1 to 1000, not '${limitText}'`;
  }
  return { state: state as TicketState | undefined, team: one('team'), layer: one('layer'), limit };
}

/** POST /api/v1/alerts (the `ticketing` receiver's webhook) and GET /api/v1/tickets. */
export function ticketRoutes(state: StateService) {
  return (app: Express) => {
    const json = express.json({ limit: MAX_BODY, type: () => true });
    app.all(
      '/api/v1/alerts',
      only(['POST'], async (req, res) => {
        if (unavailable(res, state)) return;
        const bodyError = await new Promise<unknown>((resolve) => json(req, res, resolve));
        if (bodyError) {
          const e = bodyError as { status?: number; message?: string };
          const status = e.status === 413 ? 413 : 400;
          res
            .status(status)
            .type('text/plain')
            .send(`${status === 413 ? `body larger than ${MAX_BODY}` : `invalid JSON: ${e.message}`}\n`);
          return;
        }
        const parsed = webhookPayload.safeParse(req.body);
        if (!parsed.success) {
          res
            .status(400)
            .type('text/plain')
            .send(`not an Alertmanager webhook payload: ${payloadProblem(parsed.error)}\n`);
          return;
        }
        const result = await state.tickets.ingest(parsed.data.alerts);
        await state.refresh();
        res.json(result);
      }),
    );
    app.all(
      '/api/v1/tickets',
      only(['GET', 'HEAD'], async (req, res) => {
        if (unavailable(res, state)) return;
        const filter = filterFrom(req);
        if (typeof filter === 'string') {
          res.status(400).type('text/plain').send(`${filter}\n`);
          return;
        }
        res.json({ tickets: await state.tickets.list(filter) });
      }),
    );
  };
}
