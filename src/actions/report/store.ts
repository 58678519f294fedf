import type { StateDb } from '../store/db.js';
import { OutboxTable } from '../store/outbox.js';
import type { ReportPeriod } from './types.js';

export interface StoredReport {
  id: number;
  periodStart: string;
  periodEnd: string;
  createdAt: string;
  markdown: string;
  state: 'pending' | 'dispatched' | 'not_posted';
}

export interface ClaimedReport {
  id: number;
  attempt: number;
  failures: number;
  periodStart: string;
  periodEnd: string;
  markdown: string;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));

/**
 * The reports table (migration 4): the copy of each review, and the outbox its webhook is posted from. `s` is
 * the quoted schema.
 */
export class ReportLog {
  private readonly outbox: OutboxTable;

  constructor(
    private readonly db: StateDb,
    private readonly s: string,
  ) {
    this.outbox = new OutboxTable(db, `${s}.reports`, ['period_start', 'period_end', 'markdown']);
  }

  /**
   * Keeps the report of a period unless one with the same end is kept already (another replica's tick);
   * returns its id when this call stored it. `post`: queue it for the webhook.
   */
  async store(p: ReportPeriod, markdown: string, post: boolean, at: Date): Promise<number | undefined> {
    const [row] = await this.db.transaction((tx) =>
      tx.query(
        `INSERT INTO ${this.s}.reports (period_start, period_end, created_at, markdown, state, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $3) ON CONFLICT (period_end) DO NOTHING RETURNING id`,
        [p.start, p.end, at, markdown, post ? 'pending' : 'not_posted'],
      ),
    );
    return row ? Number(row.id) : undefined;
  }

  /** The report of the latest period, if any. */
  async latest(): Promise<StoredReport | undefined> {
    const [row] = await this.db.transaction((tx) =>
      tx.query(
        `SELECT id, period_start, period_end, created_at, markdown, state FROM ${this.s}.reports
          ORDER BY period_end DESC LIMIT 1`,
      ),
    );
    if (!row) return undefined;
    return {
      id: Number(row.id),
      periodStart: iso(row.period_start),
      periodEnd: iso(row.period_end),
      createdAt: iso(row.created_at),
      markdown: String(row.markdown),
      state: row.state as StoredReport['state'],
    };
  }

  /** Reports queued for the webhook and not yet accepted (mlwatch_report_post_pending). */
  pendingCount(): Promise<number> {
    return this.outbox.pendingCount();
  }

  async claimDue(now: Date, leaseMs: number): Promise<ClaimedReport | undefined> {
    const c = await this.outbox.claimDue(now, leaseMs);
    if (!c) return undefined;
    return {
      id: c.id,
      attempt: c.attempt,
      failures: c.failures,
      periodStart: iso(c.row.period_start),
      periodEnd: iso(c.row.period_end),
      markdown: String(c.row.markdown),
    };
  }

  finish(
    c: ClaimedReport,
    result: { ok: true; at: Date } | { ok: false; error: string; retryAt: Date },
  ): Promise<boolean> {
    return this.outbox.finish(c, result);
  }
}
