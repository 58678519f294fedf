import type { StateDb, StateTx } from '../store/db.js';
import { OutboxTable } from '../store/outbox.js';

export const RETRAIN_REASONS = ['cadence', 'alert'] as const;
export type RetrainReason = (typeof RETRAIN_REASONS)[number];
export const RETRAIN_STATES = ['pending', 'dispatched'] as const;
export type RetrainState = (typeof RETRAIN_STATES)[number];

/** Something that asks for a retrain: a cadence tick or a firing alert, as received once. */
export interface RetrainTrigger {
  /** Unique per trigger as received (an alert delivery, a cadence slot): the same key twice is a no-op. */
  key: string;
  model: string;
  reason: RetrainReason;
  /** What asked: the cadence and its slot, or the alert (name, labels, annotations with its value). */
  detail: Record<string, unknown>;
  at: Date;
  cooldownMs: number;
}

/** requested: a new request; deduplicated: counted on the model's request within the cooldown. */
export type TriggerOutcome =
  | { outcome: 'requested' | 'deduplicated'; requestId: number }
  | { outcome: 'duplicate'; requestId: number };

export interface RetrainRequest {
  id: number;
  model: string;
  reason: RetrainReason;
  detail: Record<string, unknown>;
  requestedAt: string;
  state: RetrainState;
  attempts: number;
  failures: number;
  nextAttemptAt: string;
  lastError: string | null;
  dispatchedAt: string | null;
  deduplicated: number;
}

/** A request this replica has claimed for one dispatch attempt; `attempt` is its claim token. */
export interface ClaimedRequest {
  id: number;
  model: string;
  reason: RetrainReason;
  detail: Record<string, unknown>;
  requestedAt: string;
  attempt: number;
  failures: number;
}

export interface RetrainCounts {
  pending: { model: string; count: number }[];
  last: { model: string; reason: RetrainReason; at: number }[];
}

// Advisory lock class for "one writer per model at a time" (the second key is the model's hash).
const MODEL_LOCK_CLASS = 72_680;

/**
 * The retraining requests (an outbox) and the triggers recorded against them. Triggers of one model are
 * serialized by a transaction-scoped advisory lock, so two replicas (or two alerts) within a cooldown make one
 * request; claims use FOR UPDATE SKIP LOCKED with a lease, so a request is dispatched by one replica at a time
 * and, when that replica dies mid-attempt, by another once the lease is over.
 */
export class RetrainLog {
  private readonly outbox: OutboxTable;

  constructor(
    private readonly db: StateDb,
    private readonly s: string,
  ) {
    this.outbox = new OutboxTable(db, `${s}.retrain_requests`, ['model', 'reason', 'detail', 'requested_at']);
  }

  /** Records triggers in one transaction (a webhook's alerts): a failure records none of them. */
  record(triggers: readonly RetrainTrigger[]): Promise<TriggerOutcome[]> {
    if (triggers.length === 0) return Promise.resolve([]);
    return this.db.transaction(async (tx) => {
      // Locks in a fixed order: two replicas handling alerts of the same models cannot deadlock.
      for (const model of [...new Set(triggers.map((t) => t.model))].sort()) {
        await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
          MODEL_LOCK_CLASS,
          `${this.s}.${model}`,
        ]);
      }
      const out: TriggerOutcome[] = [];
      for (const t of triggers) out.push(await this.recordOne(tx, t));
      return out;
    });
  }

  private async recordOne(tx: StateTx, t: RetrainTrigger): Promise<TriggerOutcome> {
    const [seen] = await tx.query(
      `SELECT request_id FROM ${this.s}.retrain_triggers WHERE trigger_key = $1`,
      [t.key],
    );
    if (seen) return { outcome: 'duplicate', requestId: Number(seen.request_id) };
    const since = new Date(t.at.getTime() - t.cooldownMs);
    const [recent] = await tx.query(
      `SELECT id FROM ${this.s}.retrain_requests WHERE model = $1 AND requested_at > $2
        ORDER BY requested_at DESC, id DESC LIMIT 1`,
      [t.model, since],
    );
    let requestId: number;
    let outcome: 'requested' | 'deduplicated';
    if (recent) {
      requestId = Number(recent.id);
      outcome = 'deduplicated';
      await tx.query(
        `UPDATE ${this.s}.retrain_requests
            SET deduplicated = deduplicated + 1, last_deduplicated_at = $2 WHERE id = $1`,
        [requestId, t.at],
      );
    } else {
      const [row] = await tx.query(
        `INSERT INTO ${this.s}.retrain_requests (model, reason, detail, requested_at, next_attempt_at)
         VALUES ($1, $2, $3::jsonb, $4, $4) RETURNING id`,
        [t.model, t.reason, JSON.stringify(t.detail), t.at],
      );
      requestId = Number(row?.id);
      outcome = 'requested';
    }
    await tx.query(
      `INSERT INTO ${this.s}.retrain_triggers (trigger_key, model, reason, request_id, outcome, received_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [t.key, t.model, t.reason, requestId, outcome, t.at],
    );
    return { outcome, requestId };
  }

  /**
   * Claims the oldest due request of one of `models` for one attempt: its next attempt moves to the end of the
   * lease (so no other replica picks it meanwhile) and its attempt count is the claim token.
   */
  async claimDue(now: Date, models: readonly string[], leaseMs: number): Promise<ClaimedRequest | undefined> {
    if (models.length === 0) return undefined;
    const c = await this.outbox.claimDue(now, leaseMs, { column: 'model', values: models });
    if (!c) return undefined;
    return {
      id: c.id,
      model: String(c.row.model),
      reason: c.row.reason as RetrainReason,
      detail: json(c.row.detail),
      requestedAt: iso(c.row.requested_at) as string,
      attempt: c.attempt,
      failures: c.failures,
    };
  }

  /** Ends a claimed attempt; false when the claim was lost (the lease ran out and another replica took it). */
  finish(
    c: ClaimedRequest,
    result: { ok: true; at: Date } | { ok: false; error: string; retryAt: Date },
  ): Promise<boolean> {
    return this.outbox.finish(c, result);
  }

  counts(): Promise<RetrainCounts> {
    return this.db.transaction(async (tx) => {
      const pending = await tx.query(
        `SELECT model, count(*)::int AS n FROM ${this.s}.retrain_requests WHERE state = 'pending'
          GROUP BY model ORDER BY model`,
      );
      const last = await tx.query(
        `SELECT model, reason, max(requested_at) AS at FROM ${this.s}.retrain_requests
          GROUP BY model, reason ORDER BY model, reason`,
      );
      return {
        pending: pending.map((r) => ({ model: String(r.model), count: Number(r.n) })),
        last: last.map((r) => ({
          model: String(r.model),
          reason: r.reason as RetrainReason,
          at: new Date(iso(r.at) as string).getTime() / 1000,
        })),
      };
    });
  }

  list(f: { model?: string | undefined; state?: RetrainState | undefined; limit?: number } = {}) {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `SELECT id, model, reason, detail, requested_at, state, attempts, failures, next_attempt_at, last_error,
                dispatched_at, deduplicated
           FROM ${this.s}.retrain_requests
          WHERE ($1::text IS NULL OR model = $1) AND ($2::text IS NULL OR state = $2)
          ORDER BY id DESC LIMIT $3`,
        [f.model ?? null, f.state ?? null, f.limit ?? 100],
      );
      return rows.map(toRequest);
    });
  }
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null ? null : String(v));
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;

function toRequest(r: Record<string, unknown>): RetrainRequest {
  return {
    id: Number(r.id),
    model: String(r.model),
    reason: r.reason as RetrainReason,
    detail: json(r.detail),
    requestedAt: iso(r.requested_at) as string,
    state: r.state as RetrainState,
    attempts: Number(r.attempts),
    failures: Number(r.failures),
    nextAttemptAt: iso(r.next_attempt_at) as string,
    lastError: (r.last_error as string | null) ?? null,
    dispatchedAt: iso(r.dispatched_at),
    deduplicated: Number(r.deduplicated),
  };
}
