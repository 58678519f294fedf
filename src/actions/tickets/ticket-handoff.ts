import { formatDuration } from '../../config/duration.js';
import type { StateDb, StateTx } from '../store/db.js';
import { AUTOMATIC_ACTOR, type HandoffTeam } from './handoff-config.js';
import { selectTickets, type Ticket } from './tickets.js';

/**
 * Acknowledgements and hand-offs of tickets (docs/handoff_plan.md). Every page is platform on-call's first; a
 * responder acknowledges it (`ack`) or hands it to data science (`handoff`), and a page nobody acknowledged in
 * time is handed off by the exporter itself (`handOffUnacknowledged`). Each change and its history entry are
 * written in one transaction; the hand-off happens once per ticket, also with several replicas.
 */

/** What an acknowledgement or a hand-off came to: the ticket as it is now, or a refusal with its status. */
export type TicketOutcome = { ok: true; ticket: Ticket } | { ok: false; status: 404 | 409; reason: string };

/**
 * An open, handed-off ticket as mlwatch_ticket_handed_off_timestamp_seconds exports it: the labels that tell
 * data science what it is about, and when it was handed off (Unix seconds).
 */
export interface HandedOffTicket {
  /** The subject labels the alert does not have are left out, as Prometheus would drop them when empty. */
  labels: Partial<Record<HandoffLabel, string>>;
  at: number;
}

/**
 * The alert labels a hand-off carries on to data science's message: the subject labels of the alert contract
 * (those the critical-silences-warning inhibition compares) and the model's version. `dataset` also lets a
 * stale dataset hold the message back, as it holds back the page (inhibition c).
 */
export const HANDOFF_SUBJECT_LABELS = [
  'model',
  'version',
  'dataset',
  'window',
  'feature',
  'column',
  'check',
  'job_name',
  'service_name',
  'kpi',
] as const;

/** The gauge's labels. `alertname` would be overwritten by the alerting rule's own name: `ticket_alertname`. */
export const HANDOFF_LABELS = [
  'ticket',
  'ticket_alertname',
  'handed_off_to',
  'handed_off_by',
  ...HANDOFF_SUBJECT_LABELS,
] as const;
export type HandoffLabel = (typeof HANDOFF_LABELS)[number];

/**
 * At most this many handed-off tickets are exported (the latest hand-offs): each is a series and, through
 * MlwatchTicketHandedOff, an alert of its own. More than this many open hand-offs at once is an incident of its
 * own; the ticket log still has every one.
 */
export const MAX_HANDED_OFF_EXPORTED = 100;

// Label values come from the alert as posted; one long enough to bloat the exposition is cut, not dropped, so
// the series still says what it is about.
const MAX_LABEL_VALUE = 200;
const cut = (v: string) => (v.length > MAX_LABEL_VALUE ? `${v.slice(0, MAX_LABEL_VALUE - 1)}…` : v);

const notFound = (id: number): TicketOutcome => ({
  ok: false,
  status: 404,
  reason: `no ticket ${id}; mlwatch tickets list or GET /api/v1/tickets shows them`,
});
const conflict = (reason: string): TicketOutcome => ({ ok: false, status: 409, reason });

export class TicketHandoffs {
  constructor(
    private readonly db: StateDb,
    private readonly s: string,
  ) {}

  /** The current assignee's acknowledgement: platform's of a page, data science's of a hand-off. */
  ack(id: number, actor: string): Promise<TicketOutcome> {
    return this.db.transaction(async (tx) => {
      const t = await this.locked(tx, id);
      if (!t) return notFound(id);
      if (t.state === 'resolved')
        return conflict(`ticket ${id} was resolved at ${t.resolvedAt}; there is nothing to acknowledge`);
      if (t.acknowledgedAt !== null) {
        return conflict(
          `ticket ${id} was already acknowledged by ${t.acknowledgedBy} at ${t.acknowledgedAt}${t.assignee ? ` for ${t.assignee}` : ''}`,
        );
      }
      await tx.query(
        `UPDATE ${this.s}.tickets SET acknowledged_by = $2, acknowledged_at = now() WHERE id = $1`,
        [id, actor],
      );
      await this.record(tx, id, actor, 'acknowledged', { assignee: t.assignee });
      return { ok: true, ticket: await this.read(tx, id) };
    });
  }

  /** Hands the ticket to `to`: it becomes the assignee, who has yet to acknowledge it. Once per ticket. */
  handoff(id: number, actor: string, to: HandoffTeam, reason: string): Promise<TicketOutcome> {
    return this.db.transaction(async (tx) => {
      const t = await this.locked(tx, id);
      if (!t) return notFound(id);
      if (t.state === 'resolved')
        return conflict(`ticket ${id} was resolved at ${t.resolvedAt}; a resolved ticket is not handed off`);
      if (t.handedOffAt !== null) {
        return conflict(
          `ticket ${id} was already handed off to ${t.handedOffTo} by ${t.handedOffBy} at ${t.handedOffAt}; a ticket is handed off once`,
        );
      }
      if (t.assignee === to) {
        return conflict(
          `ticket ${id} is already ${to}'s: its alert went to them directly (a ${t.severity ?? 'non-paging'} alert of team ${t.team})`,
        );
      }
      await tx.query(
        `UPDATE ${this.s}.tickets
            SET assignee = $2, handed_off_to = $2, handed_off_by = $3, handed_off_at = now(), handoff_reason = $4,
                acknowledged_by = NULL, acknowledged_at = NULL
          WHERE id = $1`,
        [id, to, actor, reason],
      );
      await this.record(tx, id, actor, 'handed_off', { to, reason, automatic: false });
      return { ok: true, ticket: await this.read(tx, id) };
    });
  }

  /**
   * Hands every open page (critical) of `layers` that nobody acknowledged within `afterMs` of its opening to
   * `to`, recorded as AUTOMATIC_ACTOR; returns their ids. One statement: when two replicas run it at once, the
   * second waits for the first's row locks (taken in id order), re-checks the condition on the committed rows
   * (PostgreSQL's READ COMMITTED re-evaluation of FOR UPDATE) and skips them, so a ticket is handed off, and
   * recorded, once.
   * The clock is the store's (opened_at is its now() too), so replicas with skewed clocks agree.
   */
  async handOffUnacknowledged(
    afterMs: number,
    layers: readonly string[],
    to: HandoffTeam,
  ): Promise<number[]> {
    if (layers.length === 0) return [];
    const reason = `not acknowledged within ${formatDuration(afterMs)} of the page (state.handoff.after)`;
    const rows = await this.db.transaction((tx) =>
      tx.query(
        `WITH locked AS (
           -- The rows locked in id order first: two replicas' statements then wait for each other row by row in
           -- the same order, where an UPDATE's own scan order could differ between them and deadlock.
           SELECT id FROM ${this.s}.tickets
            WHERE state = 'open' AND severity = 'critical' AND acknowledged_at IS NULL AND handed_off_at IS NULL
              AND layer = ANY($4::text[]) AND assignee IS DISTINCT FROM $1
              AND opened_at <= now() - $5::bigint * interval '1 millisecond'
            ORDER BY id
              FOR UPDATE
         ),
         due AS (
           UPDATE ${this.s}.tickets t
              SET assignee = $1, handed_off_to = $1, handed_off_by = $2, handed_off_at = now(),
                  handoff_reason = $3
             FROM locked
            WHERE t.id = locked.id AND t.handed_off_at IS NULL
           RETURNING t.id, t.handed_off_at
         )
         INSERT INTO ${this.s}.ticket_events (ticket_id, at, actor, action, details)
         SELECT id, handed_off_at, $2, 'handed_off',
                jsonb_build_object('to', $1::text, 'reason', $3::text, 'automatic', true)
           FROM due ORDER BY id
         RETURNING ticket_id::int AS ticket_id`,
        [to, AUTOMATIC_ACTOR, reason, [...layers], Math.round(afterMs)],
      ),
    );
    return rows.map((r) => Number(r.ticket_id));
  }

  /** The open, handed-off tickets for the gauge, latest hand-off first, at most MAX_HANDED_OFF_EXPORTED. */
  handedOff(): Promise<{ tickets: HandedOffTicket[]; total: number }> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `SELECT id, alertname, labels, handed_off_to, handed_off_by,
                -- Milliseconds, as the API shows handedOffAt (PostgreSQL keeps microseconds).
                floor(extract(epoch FROM handed_off_at) * 1000)::float8 / 1000 AS at, count(*) OVER ()::int AS total
           FROM ${this.s}.tickets
          WHERE state = 'open' AND handed_off_at IS NOT NULL
          ORDER BY handed_off_at DESC, id DESC
          LIMIT $1`,
        [MAX_HANDED_OFF_EXPORTED],
      );
      const tickets = rows.map((r) => {
        const alert = (typeof r.labels === 'string' ? JSON.parse(r.labels) : r.labels) as Record<
          string,
          unknown
        >;
        const labels: HandedOffTicket['labels'] = {
          ticket: String(r.id),
          ticket_alertname: cut(String(r.alertname)),
          handed_off_to: cut(String(r.handed_off_to)),
          handed_off_by: cut(String(r.handed_off_by)),
        };
        for (const k of HANDOFF_SUBJECT_LABELS) {
          const v = alert[k];
          if (typeof v === 'string' && v !== '') labels[k] = cut(v);
        }
        return { labels, at: Number(r.at) };
      });
      return { tickets, total: Number(rows[0]?.total ?? 0) };
    });
  }

  private async locked(tx: StateTx, id: number): Promise<Ticket | undefined> {
    // The row lock orders an acknowledgement, a hand-off and the automatic hand-off of the same ticket.
    const found = await tx.query(`SELECT id FROM ${this.s}.tickets WHERE id = $1 FOR UPDATE`, [id]);
    return found.length === 0 ? undefined : this.read(tx, id);
  }

  private async read(tx: StateTx, id: number): Promise<Ticket> {
    const [t] = await selectTickets(tx, this.s, 'id = $1', [id]);
    return t as Ticket;
  }

  private async record(
    tx: StateTx,
    id: number,
    actor: string,
    action: 'acknowledged' | 'handed_off',
    details: Record<string, unknown>,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.ticket_events (ticket_id, actor, action, details) VALUES ($1, $2, $3, $4::jsonb)`,
      [id, actor, action, JSON.stringify(details)],
    );
  }
}
