import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CatalogEntry } from '../../metrics/family.js';
import { Redactor } from '../../redact.js';
import type { Row } from '../../warehouse/types.js';
import type { StateDb } from './db.js';

/**
 * What every outbox of the state store shares (retraining requests, forwarded tickets): rows `pending` until an
 * HTTP endpoint accepts them, then `dispatched`. A row is claimed for one attempt with FOR UPDATE SKIP LOCKED and
 * a lease (its next attempt moves past the attempt, its attempt count is the claim token), so replicas never send
 * the same row at once, and a replica that dies mid-attempt leaves a claim that runs out and is taken again.
 *
 * An outbox table has the columns id, state ('pending' | 'dispatched'), attempts, failures, next_attempt_at,
 * last_error and dispatched_at.
 */

// ±10 %: replicas retrying the same endpoint after an outage spread out instead of arriving together.
const JITTER = 0.1;

/** The delay before retry number `failures` (1 = after the first failure): doubling, capped, jittered. */
export function backoffDelay(failures: number, baseMs: number, capMs: number, random = Math.random): number {
  const plain = Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(plain * (1 + JITTER * (2 * random() - 1)));
}

export interface OutboxClaim {
  id: number;
  /** The attempt count after this claim: the token that finish() checks. */
  attempt: number;
  /** Failed attempts before this one (the backoff's exponent). */
  failures: number;
  row: Row;
}

/** One outbox table; `table` is schema-qualified and already quoted. */
export class OutboxTable {
  constructor(
    private readonly db: StateDb,
    private readonly table: string,
    /** Extra columns claimDue returns (already quoted). */
    private readonly columns: readonly string[],
    /**
     * The order due rows are claimed in (quoted columns; ascending). Default: the longest due first. Ticket
     * forwarding puts its priority in front; its index (migration 7) follows the same order.
     */
    private readonly order: readonly string[] = ['next_attempt_at', 'id'],
  ) {}

  /** Rows not yet accepted by their receiver (new, or failed and waiting for a retry): the pending gauges. */
  async pendingCount(): Promise<number> {
    const [row] = await this.db.transaction((tx) =>
      tx.query(`SELECT count(*)::int AS n FROM ${this.table} WHERE state = 'pending'`),
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Claims the first due row in the table's order (of those whose `scope.column` is in `scope.values`, when
   * given) for one attempt: its next attempt moves to the end of the lease, so no other replica picks it meanwhile.
   */
  async claimDue(
    now: Date,
    leaseMs: number,
    scope?: { column: string; values: readonly string[] },
  ): Promise<OutboxClaim | undefined> {
    const params: unknown[] = [now, new Date(now.getTime() + leaseMs)];
    let where = '';
    if (scope) {
      params.push([...scope.values]);
      where = `AND ${scope.column} = ANY($3::text[])`;
    }
    const [row] = await this.db.transaction((tx) =>
      tx.query(
        `UPDATE ${this.table} SET attempts = attempts + 1, next_attempt_at = $2
          WHERE id = (SELECT id FROM ${this.table}
                       WHERE state = 'pending' AND next_attempt_at <= $1 ${where}
                       ORDER BY ${this.order.join(', ')} LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id, attempts, failures${this.columns.map((c) => `, ${c}`).join('')}`,
        params,
      ),
    );
    if (!row) return undefined;
    return { id: Number(row.id), attempt: Number(row.attempts), failures: Number(row.failures), row };
  }

  /** Ends a claimed attempt; false when the claim was lost (the lease ran out and another replica took it). */
  async finish(
    c: { id: number; attempt: number },
    result: { ok: true; at: Date } | { ok: false; error: string; retryAt: Date },
  ): Promise<boolean> {
    const rows = await this.db.transaction((tx) =>
      result.ok
        ? tx.query(
            `UPDATE ${this.table} SET state = 'dispatched', dispatched_at = $3
              WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING id`,
            [c.id, c.attempt, result.at],
          )
        : tx.query(
            `UPDATE ${this.table} SET failures = failures + 1, last_error = $3, next_attempt_at = $4
              WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING id`,
            [c.id, c.attempt, result.error, result.retryAt],
          ),
    );
    return rows.length === 1;
  }
}

/**
 * POSTs a JSON body; resolves with undefined when the endpoint answered 2xx, else with why not (`HTTP 503: ...`,
 * `no answer within 10s`, `ECONNREFUSED`). Never throws.
 */
export async function postJson(o: {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}): Promise<string | undefined> {
  // The reason is logged and kept in last_error: a receiver echoing the request (its authorization header) in
  // its error body, or an error quoting the URL, leaves no credential there. Redacted before it is cut short.
  const { 'idempotency-key': _key, ...secret } = o.headers;
  const hide = new Redactor().addTree({ headers: secret }).addUrl(o.url);
  try {
    const timeout = AbortSignal.timeout(o.timeoutMs);
    const res = await fetch(o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...o.headers },
      body: JSON.stringify(o.body),
      signal: o.signal ? AbortSignal.any([timeout, o.signal]) : timeout,
    });
    const text = await res.text().catch(() => '');
    return res.ok
      ? undefined
      : `HTTP ${res.status}${text ? `: ${hide.redact(text.trim()).slice(0, 200)}` : ''}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return `no answer within ${o.timeoutMs / 1000}s`;
    if (e.name === 'AbortError') return 'aborted';
    return hide.redact(e.cause?.code ?? e.cause?.message ?? e.message);
  }
}

/**
 * Drains an outbox: claims and attempts due rows one after the other until none is due. Calls never overlap (a
 * second call while one runs gets the same promise); a store error ends the round, the next poll tries again.
 */
export class OutboxDrain {
  private running?: Promise<number>;

  constructor(
    private readonly o: {
      log: Logger;
      what: string;
      canRun: () => boolean;
      /** One claim and its attempt: undefined when nothing is due, else whether it was delivered. */
      next: () => Promise<boolean | undefined>;
      /** After a round that delivered something (re-read the gauges). */
      afterDelivery?: () => Promise<void>;
    },
  ) {}

  /** Resolves with how many rows were delivered in this round. */
  drain(): Promise<number> {
    if (this.running) return this.running;
    this.running = (async () => {
      let sent = 0;
      try {
        for (;;) {
          if (!this.o.canRun()) break;
          const delivered = await this.o.next();
          if (delivered === undefined) break;
          if (delivered) sent++;
        }
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, `${this.o.what} interrupted`);
      } finally {
        this.running = undefined;
      }
      if (sent > 0) await this.o.afterDelivery?.();
      return sent;
    })();
    return this.running;
  }

  /** The round in flight, if any (stop() waits for it). */
  inFlight(): Promise<number> | undefined {
    return this.running;
  }
}

/**
 * The two metrics of an outbox: a gauge of its pending rows, from `pending()` (a cached reading: /metrics never
 * waits on the store), and the counter of this replica's failed attempts, which the caller increments.
 */
export function registerOutboxMetrics(
  registry: Registry,
  families: { pending: CatalogEntry; failures: CatalogEntry },
  pending: () => number,
): Counter {
  new Gauge({
    name: families.pending.name,
    help: families.pending.help,
    registers: [registry],
    collect() {
      this.set(pending());
    },
  });
  return new Counter({ name: families.failures.name, help: families.failures.help, registers: [registry] });
}
