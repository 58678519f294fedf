import type { Express, Request, Response } from 'express';
import type { StoreService } from '../actions/store/service.js';
import { HANDOFF_TEAMS, type HandoffTeam } from '../actions/tickets/handoff-config.js';
import type { TicketOutcome } from '../actions/tickets/ticket-handoff.js';
import { TICKET_STATES, type TicketFilter, type TicketState } from '../actions/tickets/tickets.js';
import { allow } from './app.js';
import { Security } from './auth/security.js';
import { isProblem, pathId, readJsonObject, stringField, text, unknownField } from './json-body.js';
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

const HANDOFF_BODY = `{"to": "${HANDOFF_TEAMS.join('|')}", "reason": "what was ruled out, why it is theirs"}`;

/** The hand-off's body: {to, reason}; the problem as a sentence otherwise. */
function handoffBody(b: Record<string, unknown>): { to: HandoffTeam; reason: string } | string {
  const unknown = unknownField(b, ['to', 'reason']);
  if (unknown !== undefined) return `${unknown}: unknown field; the body is ${HANDOFF_BODY}`;
  const to = stringField(b, 'to', true);
  const reason = stringField(b, 'reason', true);
  const problem = [to, reason].find(isProblem);
  if (problem) return `${problem.problem}; the body is ${HANDOFF_BODY}`;
  if (!(HANDOFF_TEAMS as readonly string[]).includes(to as string)) {
    return `to: '${to}' has no hand-off route; use ${HANDOFF_TEAMS.join(' or ')} (Alertmanager routes MlwatchTicketHandedOff to them)`;
  }
  return { to: to as HandoffTeam, reason: reason as string };
}

/**
 * POST /api/v1/alerts (the `ticketing` receiver's webhook), GET /api/v1/tickets, and a responder's
 * POST /api/v1/tickets/ID/ack and /handoff (docs/tickets.md, "Acknowledging and handing off").
 */
export function ticketRoutes(state: StoreService, security: Security) {
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
    // Acknowledge or hand off: the responder role, and the caller's authenticated name is what the ticket records
    // (never a name from the body). The answer is the ticket as it is now, with its history.
    const act =
      (
        change: (id: number, actor: string, body: Record<string, unknown>) => Promise<TicketOutcome | string>,
      ) =>
      async (req: Request, res: Response) => {
        if (unavailable(res, state)) return;
        const id = pathId(req, res, 'ticket');
        if (id === undefined) return;
        const body = await readJsonObject(req, res);
        if (!body) return;
        const out = await change(id, Security.principal(res).name, body);
        if (typeof out === 'string') text(res, 400, out);
        else if (!out.ok) text(res, out.status, out.reason);
        else {
          // The hand-off gauge (and so data science's notice) follows at once, not at the next 15 s refresh.
          await state.refresh();
          res.json(out.ticket);
        }
      };
    app.all(
      '/api/v1/tickets/:id/ack',
      allow(['POST']),
      security.guard('responder'),
      act(async (id, actor, body) => {
        const unknown = unknownField(body, []);
        if (unknown !== undefined) return `${unknown}: unknown field; an acknowledgement has an empty body`;
        return state.handoffs.ack(id, actor);
      }),
    );
    app.all(
      '/api/v1/tickets/:id/handoff',
      allow(['POST']),
      security.guard('responder'),
      act(async (id, actor, body) => {
        const h = handoffBody(body);
        return typeof h === 'string' ? h : state.handoffs.handoff(id, actor, h.to, h.reason);
      }),
    );
  };
}
