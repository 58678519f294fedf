import type { RetrainRequest } from '../../../actions/retrain/retrain.js';
import type { RollbackRequest } from '../../../actions/rollbacks/rollbacks.js';
import type { Ticket } from '../../../actions/tickets/tickets.js';
import type { ActionCounts, ActionLists, ActionsView } from '../actions-data.js';
import { LIST_LIMIT } from '../actions-data.js';
import { ago, clip, count, fromNow } from '../format.js';
import { esc, link } from '../html.js';
import { subject } from './alerts.js';

/**
 * Open tickets, rollback requests and retraining requests. Everyone who may open the page sees the counts (the
 * same gauges as /metrics); the items, with their links to the API, only a request with the viewer role.
 */

const ms = (iso: string | null) => (iso === null ? undefined : Date.parse(iso));

/** A count; a link to its list when the list is on the page. */
function tile(n: number, one: string, many: string, anchor: string | undefined): string {
  const cls = `tile${n > 0 ? ' warn' : ''}`;
  const inner = `<b>${esc(count(n))}</b> ${esc(n === 1 ? one : many)}`;
  return anchor ? `<a class="${cls}" href="#${anchor}">${inner}</a>` : `<span class="${cls}">${inner}</span>`;
}

function tiles(c: ActionCounts, linked: boolean): string {
  const to = (anchor: string) => (linked ? anchor : undefined);
  return `<div class="tiles">${[
    tile(c.openTickets, 'open ticket', 'open tickets', to('tickets')),
    tile(c.awaitingApproval, 'rollback awaiting approval', 'rollbacks awaiting approval', to('rollbacks')),
    tile(
      c.rollbacksUnderway,
      'rollback approved, not yet run',
      'rollbacks approved, not yet run',
      to('rollbacks'),
    ),
    tile(
      c.retrainPending,
      'retraining request not yet sent',
      'retraining requests not yet sent',
      to('retraining'),
    ),
  ].join('\n')}</div>`;
}

function ticketItem(t: Ticket, nowMs: number): string {
  const about = subject(t.labels);
  const who = t.acknowledgedBy
    ? `acknowledged by ${t.acknowledgedBy}`
    : t.handedOffTo
      ? `handed off to ${t.handedOffTo}, not acknowledged`
      : 'not acknowledged';
  const meta = [
    `opened ${ago(ms(t.openedAt), nowMs)}`,
    t.assignee ? `with ${t.assignee}` : '',
    who,
    t.notifications > 1 ? `${t.notifications} notifications` : '',
  ].filter(Boolean);
  const runbook = t.annotations.runbook_url ? ` · ${link(t.annotations.runbook_url, 'runbook')}` : '';
  return `<li class="${esc(t.severity ?? '')}"><p class="title"><span class="sev">${esc(t.severity ?? 'ticket')}</span> <b>#${t.id} ${esc(t.alertname)}</b>${about ? ` <span class="about">${esc(about)}</span>` : ''}</p>
<p class="meta">${meta.map(esc).join(' · ')}${runbook}</p></li>`;
}

function rollbackItem(r: RollbackRequest, nowMs: number): string {
  const state =
    r.state === 'pending'
      ? `waiting for ${r.waiting_for.join(' and ')} approval, expires ${fromNow(Date.parse(r.expires_at), nowMs)}`
      : r.state === 'approved'
        ? 'approved, about to run'
        : `running (attempt ${r.attempts}${r.failures > 0 ? `, ${r.failures} failed` : ''})`;
  return `<li><p class="title"><b>${link(`/api/v1/rollbacks/${r.id}`, `#${r.id}`)} ${esc(r.model)} → ${esc(r.to_version)}</b> <span class="about">${esc(r.state)}</span></p>
<p>${esc(clip(r.reason, 200))}</p>
<p class="meta">${esc(`requested by ${r.requested_by} ${ago(ms(r.created_at), nowMs)} · ${state}`)}</p></li>`;
}

function retrainItem(r: RetrainRequest, nowMs: number): string {
  const tries =
    r.failures > 0
      ? `${r.failures} failed attempt${r.failures === 1 ? '' : 's'}, next ${fromNow(Date.parse(r.nextAttemptAt), nowMs)}`
      : 'not sent yet';
  const error = r.lastError ? `<p class="error">${esc(clip(r.lastError, 200))}</p>` : '';
  const list = `/api/v1/retrain/requests?model=${encodeURIComponent(r.model)}&state=pending`;
  return `<li><p class="title"><b>${link(list, `#${r.id}`)} ${esc(r.model)}</b> <span class="about">${esc(r.reason)}</span></p>
<p class="meta">${esc(`requested ${ago(ms(r.requestedAt), nowMs)} · ${tries}`)}</p>${error}</li>`;
}

function list<T>(
  id: string,
  title: string,
  items: readonly T[],
  render: (item: T) => string,
  api: string,
  none: string,
): string {
  const more = items.length >= LIST_LIMIT ? ` The latest ${LIST_LIMIT} are shown.` : '';
  const body =
    items.length === 0
      ? `<p class="quiet">${esc(none)}</p>`
      : `<ul class="items">${items.map(render).join('\n')}</ul>`;
  return `<div class="list" id="${id}"><h3>${esc(title)}</h3>${body}<p class="hint">${link(api, api)} (JSON, viewer role).${more}</p></div>`;
}

function lists(l: ActionLists, nowMs: number): string {
  return `<div class="lists">${[
    list(
      'tickets',
      'Open tickets',
      l.tickets,
      (t) => ticketItem(t, nowMs),
      '/api/v1/tickets?state=open',
      'No open ticket.',
    ),
    list(
      'rollbacks',
      'Rollback requests',
      l.rollbacks,
      (r) => rollbackItem(r, nowMs),
      '/api/v1/rollbacks',
      'No rollback request is pending or running.',
    ),
    list(
      'retraining',
      'Retraining requests',
      l.retrain,
      (r) => retrainItem(r, nowMs),
      '/api/v1/retrain/requests?state=pending',
      'No retraining request waits to be sent.',
    ),
  ].join('\n')}</div>`;
}

export function actionsSection(view: ActionsView, nowMs: number): string {
  const down = view.counts.storeUp
    ? ''
    : '<p class="problem">The state store is not ready: the counts below may be missing or old.</p>';
  let body: string;
  if (view.lists === undefined) {
    const how = view.signIn
      ? `${link(view.signIn, 'sign in as a viewer')} to list them here`
      : "open this page with a viewer's credential (a basic-auth user named by a client with the viewer role; docs/security.md) to list them here";
    body = `<p class="hint">The tickets and requests themselves are for the viewer role: ${how}.</p>`;
  } else if (typeof view.lists === 'string') {
    body = `<p class="problem">The lists cannot be shown: ${esc(view.lists)}.</p>`;
  } else {
    body = lists(view.lists, nowMs);
  }
  return `<section id="actions"><h2>Tickets, rollbacks, retraining</h2>${down}${tiles(view.counts, typeof view.lists === 'object')}
${body}</section>`;
}
