import { createHash } from 'node:crypto';
import type { StateDb, StateTx } from '../store/db.js';
import type { WebhookAlert } from './alert-payload.js';
import { incidentKey, NO_REPLICA, replicaOf } from './incident.js';
import type { TicketEvent } from './ticket-forward-config.js';
import { type KnownTicketLabels, knownTicketLabels, OTHER_LABEL_VALUE } from './ticket-labels.js';

export const TICKET_STATES = ['open', 'resolved'] as const;
export type TicketState = (typeof TICKET_STATES)[number];

export interface Ticket {
  id: number;
  fingerprint: string;
  alertname: string;
  severity: string | null;
  team: string | null;
  layer: string | null;
  state: TicketState;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  openedAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
  notifications: number;
  /**
   * The team holding the ticket (docs/handoff_plan.md): `platform` for every page (critical) at first, the alert's
   * team for the rest; the team it was handed off to after a hand-off.
   */
  assignee: string | null;
  /** Who of the assignee acknowledged it, and when; a hand-off clears both (the new team has not yet). */
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  /** The hand-off, at most one per ticket: to whom, by whom (`mlwatch (automatic)` when nobody acknowledged), when, why. */
  handedOffTo: string | null;
  handedOffBy: string | null;
  handedOffAt: string | null;
  handoffReason: string | null;
  /** What people and the automatic hand-off did to it, oldest first. */
  events: TicketHistoryEvent[];
}

export interface TicketHistoryEvent {
  at: string;
  /** The authenticated caller's name, or `mlwatch (automatic)`. */
  actor: string;
  action: 'acknowledged' | 'handed_off';
  details: Record<string, unknown>;
}

export interface TicketFilter {
  state?: TicketState | undefined;
  team?: string | undefined;
  layer?: string | undefined;
  limit?: number | undefined;
}

export interface IngestResult {
  opened: number;
  updated: number;
  resolved: number;
  /** Alerts already delivered with the same status, start and end: a retried or duplicated webhook. */
  duplicates: number;
}

/** Tickets by state, team and layer as the gauge shows them: known values, `other`, or '' when missing. */
export interface TicketCount {
  state: TicketState;
  team: string;
  layer: string;
  count: number;
}

/**
 * Where a ticket's events stand with the external tracker (state.ticket_forward), from ticket_outbox: `failing`
 * when an event waits after failed attempts (`failures` of them, the last one's error), `pending` when one waits
 * without a failure yet, `forwarded` when the tracker accepted every queued event; `not_queued` when forwarding
 * is on but nothing of this ticket was queued (an event not in `on`, a ticket older than forwarding), and
 * `not_configured` when it is off.
 */
export type ForwardStatus =
  | { status: 'forwarded' | 'not_queued' | 'not_configured' }
  | { status: 'pending' | 'failing'; event: TicketEvent; failures: number; lastError: string | null };

// Alertmanager marks an alert without an end with Go's zero time.
const NO_END = '0001-01-01T00:00:00Z';

/** What makes one delivery of one alert unique: a second webhook carrying the same is a duplicate. */
function deliveryKey(a: WebhookAlert): string {
  return createHash('sha256')
    .update(JSON.stringify([a.fingerprint, a.status, a.startsAt, a.endsAt ?? NO_END]))
    .digest('hex');
}

/**
 * The alerts in the order their rows are locked: by incident (its advisory lock), then copy (fingerprint, then
 * start), then delivery. Two replicas
 * handling the same webhook, or overlapping ones listing alerts in another order, then take the row locks of
 * ticket_deliveries and tickets in the same order, so one waits for the other instead of both deadlocking (and
 * one answering 500). This holds as Alertmanager sends it: each fingerprint once per webhook.
 */
function lockOrder(alerts: readonly WebhookAlert[]): WebhookAlert[] {
  const keyed = alerts.map((a) => ({
    a,
    key: [incidentKey(a.labels), a.fingerprint, a.startsAt, deliveryKey(a)],
  }));
  keyed.sort((x, y) => compareKeys(x.key, y.key));
  return keyed.map((k) => k.a);
}

function compareKeys(x: readonly string[], y: readonly string[]): number {
  for (let i = 0; i < x.length; i++) {
    const [l, r] = [x[i] ?? '', y[i] ?? ''];
    if (l !== r) return l < r ? -1 : 1;
  }
  return 0;
}

/**
 * The shared ticket log behind the `ticketing` receiver. One ticket per incident occurrence: an alert fingerprint
 * with its start time (an alert that resolves and fires again starts again, so it gets a new ticket), joined by
 * the copies of the same alert that other exporter replicas fire while it is open (incident.ts). A firing
 * notification opens it or counts a repeat; it closes when every copy's resolved notification came. Every alert of a webhook is recorded in
 * one transaction, so a failed request changes nothing and Alertmanager's retry is safe.
 */
export class TicketLog {
  constructor(
    private readonly db: StateDb,
    private readonly s: string,
    /** The events queued for the external tracker (state.ticket_forward.on); empty: forwarding is off. */
    private readonly forward: ReadonlySet<TicketEvent> = new Set(),
    /** The team and layer values counts() reports by name; the others are counted as `other`. */
    private readonly labels: KnownTicketLabels = knownTicketLabels(),
  ) {}

  ingest(alerts: readonly WebhookAlert[]): Promise<IngestResult> {
    return this.db.transaction(async (tx) => {
      const result: IngestResult = { opened: 0, updated: 0, resolved: 0, duplicates: 0 };
      for (const a of lockOrder(alerts)) {
        const outcome = await this.record(tx, a);
        result[outcome] += 1;
      }
      return result;
    });
  }

  private async record(tx: StateTx, a: WebhookAlert): Promise<keyof IngestResult> {
    // The delivery first: when it was seen before, nothing else is touched (last_seen_at included). A second
    // replica handling the same webhook at once waits here on the first one's key, then sees it as a duplicate.
    const fresh = await tx.query(
      `INSERT INTO ${this.s}.ticket_deliveries (delivery_key, fingerprint, starts_at, status)
       VALUES ($1, $2, $3, $4) ON CONFLICT (delivery_key) DO NOTHING RETURNING delivery_key`,
      [deliveryKey(a), a.fingerprint, a.startsAt, a.status],
    );
    if (fresh.length === 0) return 'duplicates';

    const resolved = a.status === 'resolved';
    const endsAt = a.endsAt && a.endsAt !== NO_END ? a.endsAt : null;
    const incident = incidentKey(a.labels);
    const replica = replicaOf(a.labels);
    // Only an alert that names its replica can join another replica's ticket. For those, one opener per
    // incident at a time: two mlwatch replicas receiving the two copies of one incident at once would otherwise
    // each find no open ticket and open one each. Alerts without replica labels keep a ticket each, unlocked.
    const joinable = replica !== NO_REPLICA;
    if (joinable) await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [incident]);
    const { ticketId, created } = await this.ticketOf(
      tx,
      a,
      { incident, replica, joinable },
      resolved,
      endsAt,
    );
    // The ticket: counted (the notification that opened it counted already), seen, and resolved once every
    // copy is. A resolved ticket stays resolved: a late firing notification of the same occurrence only counts.
    const [row] = await tx.query(
      `UPDATE ${this.s}.tickets AS t SET
         notifications = t.notifications + CASE WHEN $2 THEN 0 ELSE 1 END,
         last_seen_at = now(),
         annotations = $3::jsonb,
         state = CASE WHEN t.state = 'resolved' OR NOT EXISTS (
                   SELECT 1 FROM ${this.s}.ticket_copies c WHERE c.ticket_id = t.id AND c.state = 'open')
                 THEN 'resolved' ELSE 'open' END,
         resolved_at = CASE WHEN t.state = 'resolved' THEN t.resolved_at
                            WHEN NOT EXISTS (SELECT 1 FROM ${this.s}.ticket_copies c
                                              WHERE c.ticket_id = t.id AND c.state = 'open')
                            THEN COALESCE($4::timestamptz, now()) END
       WHERE t.id = $1
       RETURNING *`,
      [ticketId, created, JSON.stringify(a.annotations), resolved ? endsAt : null],
    );
    if (row && this.forward.size > 0) {
      const ticket = toTicket(row, []);
      // A ticket first seen resolved (its firing notification never came) is opened, then resolved, so the
      // tracker always gets an issue before its closing. The unique (ticket, event) makes repeats no-ops.
      await this.enqueue(tx, ticket, 'opened');
      if (ticket.state === 'resolved') await this.enqueue(tx, ticket, 'resolved');
    }
    if (resolved) return 'resolved';
    return created ? 'opened' : 'updated';
  }

  /**
   * The ticket an alert belongs to, through its copy (fingerprint, start): the one it joined before; else the
   * open ticket of the same incident that has no copy from this replica yet (another replica's copy opened
   * it); else a new one. The copy's state
   * follows the alert's, except that a resolved copy stays resolved.
   */
  private async ticketOf(
    tx: StateTx,
    a: WebhookAlert,
    { incident, replica, joinable }: { incident: string; replica: string; joinable: boolean },
    resolved: boolean,
    endsAt: string | null,
  ): Promise<{ ticketId: number; created: boolean }> {
    const state = resolved ? 'resolved' : 'open';
    const [known] = await tx.query(
      `UPDATE ${this.s}.ticket_copies SET state = CASE WHEN state = 'resolved' THEN 'resolved' ELSE $3 END
        WHERE fingerprint = $1 AND starts_at = $2 RETURNING ticket_id`,
      [a.fingerprint, a.startsAt, state],
    );
    if (known) return { ticketId: Number(known.ticket_id), created: false };
    const open = joinable ? await this.openTicketOf(tx, incident, replica) : undefined;
    let ticketId = open;
    if (ticketId === undefined) {
      const [row] = await tx.query(
        `INSERT INTO ${this.s}.tickets
           (fingerprint, starts_at, alertname, severity, team, layer, state, labels, annotations, resolved_at,
            assignee, incident)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12)
         RETURNING id`,
        [
          a.fingerprint,
          a.startsAt,
          a.labels.alertname ?? '',
          a.labels.severity ?? null,
          a.labels.team ?? null,
          a.labels.layer ?? null,
          state,
          JSON.stringify(a.labels),
          JSON.stringify(a.annotations),
          resolved ? (endsAt ?? new Date().toISOString()) : null,
          firstAssignee(a.labels),
          incident,
        ],
      );
      ticketId = Number(row?.id);
    }
    await tx.query(
      `INSERT INTO ${this.s}.ticket_copies (fingerprint, starts_at, ticket_id, state, replica)
       VALUES ($1, $2, $3, $4, $5)`,
      [a.fingerprint, a.startsAt, ticketId, state, replica],
    );
    return { ticketId, created: open === undefined };
  }

  /** The open ticket of `incident` that has no copy from `replica` yet: the one another replica's copy opened. */
  private async openTicketOf(tx: StateTx, incident: string, replica: string): Promise<number | undefined> {
    const [row] = await tx.query(
      `SELECT t.id FROM ${this.s}.tickets t
        WHERE t.incident = $1 AND t.state = 'open'
          AND NOT EXISTS (SELECT 1 FROM ${this.s}.ticket_copies c WHERE c.ticket_id = t.id AND c.replica = $2)
        ORDER BY t.id LIMIT 1`,
      [incident, replica],
    );
    return row === undefined ? undefined : Number(row.id);
  }

  /** Queues one event of a ticket for the tracker, in the ticket's transaction (src/actions/tickets/ticket-forward.ts). */
  private async enqueue(tx: StateTx, t: Ticket, event: TicketEvent): Promise<void> {
    if (!this.forward.has(event)) return;
    await tx.query(
      `INSERT INTO ${this.s}.ticket_outbox (ticket_id, event, payload, next_attempt_at, priority)
       VALUES ($1, $2, $3::jsonb, now(), $4) ON CONFLICT (ticket_id, event) DO NOTHING`,
      [t.id, event, JSON.stringify(forwardPayload(t, event)), forwardPriority(t.severity)],
    );
  }

  list(f: TicketFilter = {}): Promise<Ticket[]> {
    return this.db.transaction((tx) =>
      selectTickets(
        tx,
        this.s,
        `($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR team = $2) AND ($3::text IS NULL OR layer = $3)
          ORDER BY id DESC LIMIT $4`,
        [f.state ?? null, f.team ?? null, f.layer ?? null, f.limit ?? 100],
      ),
    );
  }

  /** The forwarding status of each ticket (ForwardStatus); `configured`: whether state.ticket_forward is set. */
  async forwardStatus(ids: readonly number[], configured: boolean): Promise<Map<number, ForwardStatus>> {
    const rows = await this.db.transaction((tx) =>
      tx.query(
        `SELECT ticket_id::int AS ticket_id, event, state, failures, last_error FROM ${this.s}.ticket_outbox
          WHERE ticket_id = ANY($1::bigint[]) ORDER BY id`,
        [[...ids]],
      ),
    );
    const out = new Map<number, ForwardStatus>();
    for (const id of ids) {
      const events = rows.filter((r) => Number(r.ticket_id) === id);
      const waiting = events.filter((r) => r.state === 'pending');
      // A failing event says more than a pending one: it names what the tracker answered.
      const worst = waiting.find((r) => Number(r.failures) > 0) ?? waiting[0];
      if (worst) {
        const failures = Number(worst.failures);
        out.set(id, {
          status: failures > 0 ? 'failing' : 'pending',
          event: worst.event as TicketEvent,
          failures,
          lastError: (worst.last_error as string | null) ?? null,
        });
      } else if (events.length > 0) out.set(id, { status: 'forwarded' });
      else out.set(id, { status: configured ? 'not_queued' : 'not_configured' });
    }
    return out;
  }

  /**
   * Tickets by state, team and layer, with each team and layer outside the known sets counted as `other` (a
   * missing one as ''): the rows, and so the series of mlwatch_tickets, stay bounded whatever the alerts carry.
   * Grouped in the database, so thousands of made-up teams never even reach the exporter.
   */
  counts(): Promise<TicketCount[]> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `SELECT state,
                CASE WHEN coalesce(team, '') = '' THEN '' WHEN team = ANY($1::text[]) THEN team ELSE $3 END AS team,
                CASE WHEN coalesce(layer, '') = '' THEN '' WHEN layer = ANY($2::text[]) THEN layer ELSE $3 END AS layer,
                count(*)::int AS n
           FROM ${this.s}.tickets GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
        [[...this.labels.team], [...this.labels.layer], OTHER_LABEL_VALUE],
      );
      return rows.map((r) => ({
        state: r.state as TicketState,
        team: String(r.team),
        layer: String(r.layer),
        count: Number(r.n),
      }));
    });
  }
}

/** Who holds a new ticket: platform on-call for every page, whatever its team; the alert's team otherwise. */
function firstAssignee(labels: Record<string, string>): string | null {
  return labels.severity === 'critical' ? 'platform' : (labels.team ?? null);
}

/**
 * The tickets matching `where` (a condition on the tickets table, with its ORDER BY and LIMIT), each with its
 * history: the one way tickets are read, by the list, the API and the hand-off answers.
 */
export async function selectTickets(
  tx: StateTx,
  s: string,
  where: string,
  params: readonly unknown[],
): Promise<Ticket[]> {
  const rows = await tx.query(
    `SELECT id, fingerprint, alertname, severity, team, layer, state, labels, annotations, starts_at, opened_at,
            last_seen_at, resolved_at, notifications, assignee, acknowledged_by, acknowledged_at, handed_off_to,
            handed_off_by, handed_off_at, handoff_reason
       FROM ${s}.tickets WHERE ${where}`,
    params,
  );
  if (rows.length === 0) return [];
  const events = await tx.query(
    `SELECT ticket_id::int AS ticket_id, at, actor, action, details FROM ${s}.ticket_events
      WHERE ticket_id = ANY($1::bigint[]) ORDER BY id`,
    [rows.map((r) => Number(r.id))],
  );
  return rows.map((r) =>
    toTicket(
      r,
      events.filter((e) => Number(e.ticket_id) === Number(r.id)),
    ),
  );
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null ? null : String(v));
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, string>;
const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

function toTicket(r: Record<string, unknown>, events: Record<string, unknown>[]): Ticket {
  return {
    id: Number(r.id),
    fingerprint: String(r.fingerprint),
    alertname: String(r.alertname),
    severity: (r.severity as string | null) ?? null,
    team: (r.team as string | null) ?? null,
    layer: (r.layer as string | null) ?? null,
    state: r.state as TicketState,
    labels: json(r.labels),
    annotations: json(r.annotations),
    startsAt: iso(r.starts_at) as string,
    openedAt: iso(r.opened_at) as string,
    lastSeenAt: iso(r.last_seen_at) as string,
    resolvedAt: iso(r.resolved_at),
    notifications: Number(r.notifications),
    assignee: text(r.assignee),
    acknowledgedBy: text(r.acknowledged_by),
    acknowledgedAt: iso(r.acknowledged_at ?? null),
    handedOffTo: text(r.handed_off_to),
    handedOffBy: text(r.handed_off_by),
    handedOffAt: iso(r.handed_off_at ?? null),
    handoffReason: text(r.handoff_reason),
    events: events.map((e) => ({
      at: iso(e.at) as string,
      actor: String(e.actor),
      action: e.action as TicketHistoryEvent['action'],
      details: json(e.details),
    })),
  };
}

/** The forwarding order (migration 7): critical first, then warning, then the rest. */
export function forwardPriority(severity: string | null): number {
  return severity === 'critical' ? 0 : severity === 'warning' ? 1 : 2;
}

/** The body the tracker receives: the event and the ticket as it was when the event happened. */
export function forwardPayload(t: Ticket, event: TicketEvent) {
  return {
    event,
    ticket: {
      id: t.id,
      fingerprint: t.fingerprint,
      alertname: t.alertname,
      severity: t.severity,
      team: t.team,
      layer: t.layer,
      labels: t.labels,
      annotations: t.annotations,
      state: t.state,
      startsAt: t.startsAt,
      resolvedAt: t.resolvedAt,
    },
  };
}
