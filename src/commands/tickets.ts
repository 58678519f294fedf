import { openStateDb } from '../actions/store/db.js';
import {
  type ForwardStatus,
  TICKET_STATES,
  type Ticket,
  TicketLog,
  type TicketState,
} from '../actions/tickets/tickets.js';
import type { LoadedConfig } from '../config/load.js';
import { quoteIdent } from '../sql/identifiers.js';

export interface TicketListFlags {
  state?: string;
  team?: string;
  layer?: string;
  limit: string;
  json?: boolean;
}

// Labels every ticket has in its own column; the rest name the subject (dataset, model, check...).
const SHOWN = new Set(['alertname', 'severity', 'team', 'layer']);

export function subject(t: Ticket): string {
  return Object.entries(t.labels)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** `forwarded`, `pending`, `failing (3 attempts)`, `not queued`, `not configured`. */
function forwardCell(f: ForwardStatus | undefined): string {
  if (!f) return '';
  if (f.status === 'failing') return `failing (${f.failures} attempt${f.failures === 1 ? '' : 's'})`;
  return f.status.replace('_', ' ');
}

/** `platform`, or `data-science (handed off by alice)` after a hand-off. */
export function assigneeCell(t: Ticket): string {
  if (t.handedOffAt === null) return t.assignee ?? '';
  return `${t.assignee} (handed off by ${t.handedOffBy})`;
}

/** Rows as columns padded to their widest cell, two spaces apart (also `mlwatch retrain list`). */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `mlwatch tickets list`: the ticket log straight from the state store, newest first. */
export async function listTickets(
  config: LoadedConfig,
  f: TicketListFlags,
): Promise<{ code: number; out: string }> {
  if (f.state !== undefined && !(TICKET_STATES as readonly string[]).includes(f.state)) {
    return { code: 1, out: `--state: expected one of ${TICKET_STATES.join(', ')}, not '${f.state}'` };
  }
  const limit = Number(f.limit);
  if (!Number.isInteger(limit) || limit < 1)
    return { code: 1, out: `--limit: '${f.limit}' is not a positive whole number` };
  const db = openStateDb(config.state);
  try {
    const log = new TicketLog(db, quoteIdent(config.state.schema));
    const tickets = await log.list({
      state: f.state as TicketState | undefined,
      team: f.team,
      layer: f.layer,
      limit,
    });
    // Whether each ticket reached the external tracker, as the outbox records it (docs/tickets.md).
    const forward = await log.forwardStatus(
      tickets.map((t) => t.id),
      config.raw.state.ticket_forward !== undefined,
    );
    if (f.json) {
      const out = tickets.map((t) => ({ ...t, forward: forward.get(t.id) }));
      return { code: 0, out: JSON.stringify(out, null, 2) };
    }
    if (tickets.length === 0) return { code: 0, out: 'no tickets' };
    const rows = [
      [
        'ID',
        'STATE',
        'SEVERITY',
        'TEAM',
        'LAYER',
        'ALERT',
        'SUBJECT',
        'STARTED',
        'NOTIFICATIONS',
        'FORWARD',
        'ASSIGNEE',
        'ACKNOWLEDGED BY',
      ],
      ...tickets.map((t) => [
        String(t.id),
        t.state,
        t.severity ?? '',
        t.team ?? '',
        t.layer ?? '',
        t.alertname,
        subject(t),
        t.startsAt,
        String(t.notifications),
        forwardCell(forward.get(t.id)),
        assigneeCell(t),
        t.acknowledgedBy ?? '',
      ]),
    ];
    return { code: 0, out: table(rows) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    // 42P01: undefined table. The exporter creates the log when it starts.
    if (e.code === '42P01' || e.code === '3F000') {
      return {
        code: 1,
        out: `no ticket log in schema ${config.state.schema} of the state store yet: start \`mlwatch serve --config ${config.file}\` once, it creates it`,
      };
    }
    return { code: 1, out: `cannot read the ticket log: ${(e.message ?? String(err)).split('\n')[0]}` };
  } finally {
    await db.close();
  }
}
