import type { Dialect } from '../../sql/dialect.js';
import type { Queryable } from '../../warehouse/types.js';

/**
 * The warehouse clock of this run's transaction, in µs since the epoch: every statement of the run sees the
 * same now(), so the buckets a run plans are the ones its statements read.
 */
export async function warehouseClockUs(q: Queryable, dialect: Dialect): Promise<number> {
  const rows = await q.query(`SELECT ${dialect.nowMicros} AS now_us`);
  const us = Number(rows[0]?.now_us);
  if (!Number.isSafeInteger(us))
    throw new Error(`expected the warehouse clock in µs, got ${String(rows[0]?.now_us)}`);
  return us;
}
