import type { StateDb, StateTx } from '../store/db.js';
import { type AuditVerification, appendAudit, lockAuditChain, verifyAuditChain } from './audit-chain.js';
import { APPROVER_ROLES, type ApproverRole } from './rollback-config.js';

export const ROLLBACK_STATES = [
  'pending',
  'approved',
  'executing',
  'executed',
  'failed',
  'rejected',
  'expired',
] as const;
export type RollbackState = (typeof ROLLBACK_STATES)[number];
/** States in which a request still counts as open (one per model). */
export const OPEN_STATES: readonly RollbackState[] = ['pending', 'approved', 'executing'];

export interface RollbackApproval {
  approver: string;
  role: ApproverRole;
  decision: 'approve' | 'reject';
  at: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

export interface RollbackRequest {
  id: number;
  model: string;
  to_version: string;
  reason: string;
  requested_by: string;
  state: RollbackState;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  attempts: number;
  failures: number;
  last_error: string | null;
  finished_at: string | null;
  approvals: RollbackApproval[];
  /** The roles whose approval is still missing while pending. */
  waiting_for: ApproverRole[];
}

/** The actor of what mlwatch does by itself (expiry, execution) in the audit log. */
export const SYSTEM_ACTOR = 'mlwatch';

/** What a request or a decision came to: the request, or a refusal with its HTTP status and reason. */
export type Outcome =
  | { ok: true; request: RollbackRequest }
  | { ok: false; status: 404 | 409; reason: string };

export interface Actor {
  name: string;
  role: ApproverRole;
}

export interface NewRequest {
  model: string;
  toVersion: string;
  reason: string;
  by: Actor;
  now: Date;
  expiresAt: Date;
}

/** An approved request this replica has claimed for one execution attempt; `attempt` is its claim token. */
export interface ClaimedRollback {
  id: number;
  model: string;
  to_version: string;
  reason: string;
  requested_by: string;
  attempt: number;
  failures: number;
  approvals: { approver: string; role: ApproverRole; at: string }[];
}

/**
 * Rollback requests, their approvals and their audit log. Every decision takes the request's row lock
 * (SELECT ... FOR UPDATE), so approvals arriving at two replicas at once are seen one after the other; the
 * execution is an outbox claimed with FOR UPDATE SKIP LOCKED and a lease, as for retraining. The audit log is
 * only ever inserted into (the database refuses UPDATE and DELETE on it), each entry chained to the one
 * before by its hash (audit-chain.ts), so what its owner changes with the triggers disabled shows in
 * verify().
 */
export class RollbackLog {
  constructor(
    private readonly db: StateDb,
    private readonly s: string,
  ) {}

  private audit(tx: StateTx, id: number, at: Date, actor: string, action: string, details: object) {
    return appendAudit(tx, this.s, { requestId: id, at, actor, action, details });
  }

  /** Recomputes the audit log's hash chain: intact, or the first entry changed, deleted or inserted. */
  verify(): Promise<AuditVerification> {
    return verifyAuditChain(this.db, this.s);
  }

  /** Expires pending requests past their expiry; returns their ids. */
  sweep(now: Date): Promise<number[]> {
    return this.db.transaction((tx) => this.expire(tx, now));
  }

  private async expire(tx: StateTx, now: Date, id?: number): Promise<number[]> {
    const rows = await tx.query(
      `UPDATE ${this.s}.rollback_requests SET state = 'expired', decided_at = $1
        WHERE state = 'pending' AND expires_at <= $1 AND ($2::bigint IS NULL OR id = $2) RETURNING id, expires_at`,
      [now, id ?? null],
    );
    for (const r of rows) {
      await this.audit(tx, Number(r.id), now, SYSTEM_ACTOR, 'expired', {
        expires_at: iso(r.expires_at),
      });
    }
    return rows.map((r) => Number(r.id));
  }

  /** Opens a request; 409 when the model already has an open one. */
  async create(r: NewRequest): Promise<Outcome> {
    try {
      return await this.insertRequest(r);
    } catch (err) {
      // The unique index refused a second open request of the model that insertRequest's check could not see
      // (not yet committed when the check's snapshot was taken: a session above READ COMMITTED, or a writer
      // that skips the lock). For the caller it is the same conflict: 409, not a 500.
      const e = err as { code?: string; constraint?: string };
      if (e.code !== '23505' || e.constraint !== 'rollback_requests_open_idx') throw err;
      const open = await this.db.transaction((tx) => this.openConflict(tx, r.model));
      return (
        open ?? {
          ok: false,
          status: 409,
          reason: `model ${r.model} already has an open rollback request, opened at the same moment; approve, reject or let it expire first`,
        }
      );
    }
  }

  /** The 409 for a model's open request, if it has one. */
  private async openConflict(tx: StateTx, model: string): Promise<Outcome | undefined> {
    const [open] = await tx.query(
      `SELECT id, state FROM ${this.s}.rollback_requests WHERE model = $1 AND state = ANY($2::text[])`,
      [model, [...OPEN_STATES]],
    );
    if (!open) return undefined;
    return {
      ok: false,
      status: 409,
      reason: `model ${model} already has an open rollback request ${open.id} (${open.state}); approve, reject or let it expire first`,
    };
  }

  private insertRequest(r: NewRequest): Promise<Outcome> {
    return this.db.transaction(async (tx) => {
      await this.expire(tx, r.now);
      // Creates queue on the audit chain's lock (they append anyway) before they look: each then sees the
      // request the one before it committed and answers 409 instead of racing it to the unique index. Taken
      // after expire(), whose row locks may wait; nothing after it waits on another transaction.
      await lockAuditChain(tx, this.s);
      const open = await this.openConflict(tx, r.model);
      if (open) return open;
      const [row] = await tx.query(
        `INSERT INTO ${this.s}.rollback_requests (model, to_version, reason, requested_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [r.model, r.toVersion, r.reason, r.by.name, r.now, r.expiresAt],
      );
      const id = Number(row?.id);
      await this.audit(tx, id, r.now, r.by.name, 'requested', {
        role: r.by.role,
        model: r.model,
        to_version: r.toVersion,
        reason: r.reason,
        expires_at: r.expiresAt.toISOString(),
      });
      return { ok: true as const, request: (await this.read(tx, id)) as RollbackRequest };
    });
  }

  /** An approval or a rejection by `by`. Refusals are answered and written to the audit log too. */
  decide(id: number, by: Actor, decision: 'approve' | 'reject', comment: string | undefined, now: Date) {
    return this.db.transaction(async (tx): Promise<Outcome> => {
      const [row] = await tx.query(
        `SELECT id, state, expires_at FROM ${this.s}.rollback_requests WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!row) return { ok: false, status: 404, reason: `no rollback request ${id}` };
      const refuse = async (reason: string): Promise<Outcome> => {
        await this.audit(tx, id, now, by.name, 'refused', { role: by.role, attempted: decision, reason });
        return { ok: false, status: 409, reason };
      };
      const expired = await this.expire(tx, now, id);
      if (expired.length > 0) {
        return refuse(
          `request ${id} expired at ${iso(row.expires_at)} before both roles approved; open a new request`,
        );
      }
      if (row.state !== 'pending') {
        return refuse(`request ${id} is ${row.state}: it is closed to approvals and rejections`);
      }
      const [mine] = await tx.query(
        `SELECT decision FROM ${this.s}.rollback_approvals WHERE request_id = $1 AND approver = $2`,
        [id, by.name],
      );
      const details = { role: by.role, ...(comment !== undefined ? { comment } : {}) };
      if (decision === 'approve') {
        if (mine) {
          return refuse(
            `${by.name} has already approved request ${id}; the other approval must come from someone else`,
          );
        }
        await tx.query(
          `INSERT INTO ${this.s}.rollback_approvals (request_id, approver, role, decision, at)
           VALUES ($1, $2, $3, 'approve', $4)`,
          [id, by.name, by.role, now],
        );
        await this.audit(tx, id, now, by.name, 'approve', details);
        const approvals = await tx.query(
          `SELECT approver, role FROM ${this.s}.rollback_approvals
            WHERE request_id = $1 AND decision = 'approve' ORDER BY at, approver`,
          [id],
        );
        // Both roles, by two people: each approver has one role and one row, so two roles are two people.
        const roles = new Set(approvals.map((a) => String(a.role)));
        const people = new Set(approvals.map((a) => String(a.approver)));
        if (APPROVER_ROLES.every((r) => roles.has(r)) && people.size >= 2) {
          await tx.query(
            `UPDATE ${this.s}.rollback_requests SET state = 'approved', decided_at = $2, next_attempt_at = $2
              WHERE id = $1`,
            [id, now],
          );
          await this.audit(tx, id, now, SYSTEM_ACTOR, 'approved', {
            approvers: approvals.map((a) => ({ approver: a.approver, role: a.role })),
          });
        }
      } else {
        // A rejection closes the request, also from someone who approved it before (a change of mind).
        await tx.query(
          `INSERT INTO ${this.s}.rollback_approvals (request_id, approver, role, decision, at)
           VALUES ($1, $2, $3, 'reject', $4)
           ON CONFLICT (request_id, approver) DO UPDATE SET decision = 'reject', at = EXCLUDED.at`,
          [id, by.name, by.role, now],
        );
        await tx.query(
          `UPDATE ${this.s}.rollback_requests SET state = 'rejected', decided_at = $2 WHERE id = $1`,
          [id, now],
        );
        await this.audit(tx, id, now, by.name, 'reject', {
          ...details,
          ...(mine ? { withdrew: 'approve' } : {}),
        });
      }
      return { ok: true, request: (await this.read(tx, id)) as RollbackRequest };
    });
  }

  /** One request with its approvals (and, with `withAudit`, its audit log); expires it first if due. */
  get(id: number, now: Date): Promise<(RollbackRequest & { audit: AuditEntry[] }) | undefined> {
    return this.db.transaction(async (tx) => {
      await this.expire(tx, now, id);
      const r = await this.read(tx, id);
      if (!r) return undefined;
      const audit = await tx.query(
        `SELECT id, at, actor, action, details FROM ${this.s}.rollback_audit WHERE request_id = $1 ORDER BY id`,
        [id],
      );
      return {
        ...r,
        audit: audit.map((a) => ({
          id: Number(a.id),
          at: iso(a.at) as string,
          actor: String(a.actor),
          action: String(a.action),
          details: json(a.details),
        })),
      };
    });
  }

  list(f: { state?: RollbackState | undefined; limit?: number; now: Date }): Promise<RollbackRequest[]> {
    return this.db.transaction(async (tx) => {
      await this.expire(tx, f.now);
      const rows = await tx.query(
        `SELECT id FROM ${this.s}.rollback_requests WHERE ($1::text IS NULL OR state = $1)
          ORDER BY id DESC LIMIT $2`,
        [f.state ?? null, f.limit ?? 100],
      );
      const out: RollbackRequest[] = [];
      for (const r of rows) out.push((await this.read(tx, Number(r.id))) as RollbackRequest);
      return out;
    });
  }

  private async read(tx: StateTx, id: number): Promise<RollbackRequest | undefined> {
    const [r] = await tx.query(
      `SELECT id, model, to_version, reason, requested_by, state, created_at, expires_at, decided_at, attempts,
              failures, last_error, finished_at
         FROM ${this.s}.rollback_requests WHERE id = $1`,
      [id],
    );
    if (!r) return undefined;
    const approvals: RollbackApproval[] = (
      await tx.query(
        `SELECT approver, role, decision, at FROM ${this.s}.rollback_approvals WHERE request_id = $1
          ORDER BY at, approver`,
        [id],
      )
    ).map((a) => ({
      approver: String(a.approver),
      role: a.role as ApproverRole,
      decision: a.decision as 'approve' | 'reject',
      at: iso(a.at) as string,
    }));
    const state = r.state as RollbackState;
    const approvedRoles = new Set(approvals.filter((a) => a.decision === 'approve').map((a) => a.role));
    return {
      id: Number(r.id),
      model: String(r.model),
      to_version: String(r.to_version),
      reason: String(r.reason),
      requested_by: String(r.requested_by),
      state,
      created_at: iso(r.created_at) as string,
      expires_at: iso(r.expires_at) as string,
      decided_at: iso(r.decided_at),
      attempts: Number(r.attempts),
      failures: Number(r.failures),
      last_error: (r.last_error as string | null) ?? null,
      finished_at: iso(r.finished_at),
      approvals,
      waiting_for: state === 'pending' ? APPROVER_ROLES.filter((x) => !approvedRoles.has(x)) : [],
    };
  }

  /**
   * Claims the oldest due approved request of one of `models` (or one whose claim ran out: its replica died
   * mid-attempt) for one attempt: it becomes `executing` until the lease ends, and its attempt count is the
   * claim token.
   */
  claimDue(now: Date, models: readonly string[], leaseMs: number, replica: string) {
    if (models.length === 0) return Promise.resolve(undefined);
    return this.db.transaction(async (tx): Promise<ClaimedRollback | undefined> => {
      const [row] = await tx.query(
        `UPDATE ${this.s}.rollback_requests SET state = 'executing', attempts = attempts + 1, next_attempt_at = $3
          WHERE id = (SELECT id FROM ${this.s}.rollback_requests
                       WHERE state IN ('approved', 'executing') AND next_attempt_at <= $1
                         AND model = ANY($2::text[])
                       ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id, model, to_version, reason, requested_by, attempts, failures`,
        [now, [...models], new Date(now.getTime() + leaseMs)],
      );
      if (!row) return undefined;
      const id = Number(row.id);
      await this.audit(tx, id, now, SYSTEM_ACTOR, 'executing', { attempt: Number(row.attempts), replica });
      const approvals = await tx.query(
        `SELECT approver, role, at FROM ${this.s}.rollback_approvals
          WHERE request_id = $1 AND decision = 'approve' ORDER BY at, approver`,
        [id],
      );
      return {
        id,
        model: String(row.model),
        to_version: String(row.to_version),
        reason: String(row.reason),
        requested_by: String(row.requested_by),
        attempt: Number(row.attempts),
        failures: Number(row.failures),
        approvals: approvals.map((a) => ({
          approver: String(a.approver),
          role: a.role as ApproverRole,
          at: iso(a.at) as string,
        })),
      };
    });
  }

  /**
   * Ends a claimed attempt: executed on success; on failure back to approved for a retry at `retryAt`, or
   * failed once `maxFailures` attempts have failed. False when the claim was lost (another replica took it).
   */
  finish(
    c: ClaimedRollback,
    result:
      | { ok: true; at: Date }
      | { ok: false; at: Date; error: string; retryAt: Date; maxFailures: number },
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (result.ok) {
        const rows = await tx.query(
          `UPDATE ${this.s}.rollback_requests SET state = 'executed', finished_at = $3, last_error = NULL
            WHERE id = $1 AND attempts = $2 AND state = 'executing' RETURNING id`,
          [c.id, c.attempt, result.at],
        );
        if (rows.length === 1) {
          await this.audit(tx, c.id, result.at, SYSTEM_ACTOR, 'executed', { attempt: c.attempt });
        }
        return rows.length === 1;
      }
      const final = c.failures + 1 >= result.maxFailures;
      const rows = await tx.query(
        `UPDATE ${this.s}.rollback_requests
            SET failures = failures + 1, last_error = $3, state = $4, next_attempt_at = $5,
                finished_at = CASE WHEN $4 = 'failed' THEN $6::timestamptz END
          WHERE id = $1 AND attempts = $2 AND state = 'executing' RETURNING id`,
        [
          c.id,
          c.attempt,
          result.error,
          final ? 'failed' : 'approved',
          final ? null : result.retryAt,
          result.at,
        ],
      );
      if (rows.length === 1) {
        await this.audit(tx, c.id, result.at, SYSTEM_ACTOR, final ? 'failed' : 'execution_failed', {
          attempt: c.attempt,
          error: result.error,
          ...(final ? {} : { retry_at: result.retryAt.toISOString() }),
        });
      }
      return rows.length === 1;
    });
  }

  /** Requests by state, for mlwatch_rollback_requests. */
  counts(): Promise<{ state: RollbackState; count: number }[]> {
    return this.db.transaction(async (tx) =>
      (
        await tx.query(
          `SELECT state, count(*)::int AS n FROM ${this.s}.rollback_requests GROUP BY state ORDER BY state`,
        )
      ).map((r) => ({ state: r.state as RollbackState, count: Number(r.n) })),
    );
  }
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null ? null : String(v));
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;
