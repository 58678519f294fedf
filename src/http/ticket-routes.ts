import type { Express, Request, Response } from 'express';
import type { StateService } from '../state/service.js';
import { TICKET_STATES, type TicketFilter, type TicketState } from '../state/tickets.js';
import { allow } from './app.js';
import type { Security } from './auth/security.js';
import { readWebhookPayload, unavailable } from './webhook.js';

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
export function ticketRoutes(state: StateService, security: Security) {
  return (app: Express) => {
    app.all(
      '/api/v1/alerts',
      allow(['POST']),
      security.guard('webhook'),
      async (req: Request, res: Response) => {
        if (unavailable(res, state)) return;
        const payload = await readWebhookPayload(req, res);
        if (!payload) return;
        const result = await state.tickets.ingest(payload.alerts);
        await state.refresh();
        state.forwardSoon();
        res.json(result);
      },
    );
    app.all(
      '/api/v1/tickets',
      allow(['GET', 'HEAD']),
      security.guard('viewer'),
      async (req: Request, res: Response) => {
        if (unavailable(res, state)) return;
        const filter = filterFrom(req);
        if (typeof filter === 'string') {
          res.status(400).type('text/plain').send(`${filter}\n`);
          return;
        }
        res.json({ tickets: await state.tickets.list(filter) });
      },
    );
  };
}
