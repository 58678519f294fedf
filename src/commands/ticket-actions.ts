import type { Ticket } from '../actions/tickets/tickets.js';
import { type ApiFlags, type CliResult, call } from './rollback.js';
import { assigneeCell, subject } from './tickets.js';

/**
 * `mlwatch tickets ack|handoff ID`: through the running exporter's API (docs/tickets.md), as the responder whose
 * token is given, so the ticket records who did it from the credential, as over HTTP. Exit codes as
 * `mlwatch rollback`: 0 done; 1 a usage problem or the exporter cannot be reached; 2 the exporter refused (400,
 * 401, 403, 404, 409: the reason is printed).
 */

function describe(t: Ticket): string {
  const what = subject(t);
  return [
    `ticket ${t.id}: ${t.alertname}${what ? ` (${what})` : ''}, ${t.severity ?? 'no severity'}, ${t.state}`,
    `  assignee: ${assigneeCell(t) || 'none'}`,
    ...(t.handedOffAt ? [`  handed off at ${t.handedOffAt}: ${t.handoffReason}`] : []),
    t.acknowledgedAt
      ? `  acknowledged by ${t.acknowledgedBy} at ${t.acknowledgedAt}`
      : '  not acknowledged by its assignee yet',
    ...t.events.map((e) => `  ${e.at}  ${e.actor}  ${e.action}  ${JSON.stringify(e.details)}`),
  ].join('\n');
}

async function post(id: string, path: string, body: object, f: ApiFlags, env: NodeJS.ProcessEnv) {
  if (!/^\d+$/.test(id))
    return { code: 1, out: `'${id}' is not a ticket id (a number, see mlwatch tickets list)` };
  const r = await call(f, env, 'POST', `/api/v1/tickets/${id}/${path}`, body, 'responder');
  if (!r.ok) return r.result;
  const t = r.value as Ticket;
  return { code: 0, out: f.json ? JSON.stringify(t, null, 2) : describe(t) };
}

export function ackTicket(id: string, f: ApiFlags, env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return post(id, 'ack', {}, f, env);
}

export function handoffTicket(
  id: string,
  f: ApiFlags & { to: string; reason: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  return post(id, 'handoff', { to: f.to, reason: f.reason }, f, env);
}
