import type { SqlWriter } from '../warehouse/types.js';
import { type BatchCounts, generateSql, toCounts } from './batches.js';
import { demoIndexesSql, quoteSchema } from './schema.js';

export interface SeedOptions {
  /** Days of history; 35 by default, so a 28-day drift reference ending 7 days ago is complete. */
  days?: number;
  /** Makes the data repeatable for a given `until`: in [-1, 1] it goes to setseed as is, else it is folded in. */
  seed?: number;
  /** End of the history; the warehouse's now() by default. A DemoFeeder can then start from here. */
  until?: Date;
}

/** The request log only covers the last few days: it is the biggest table and checks look at minutes. */
const REQUEST_DAYS = 3;
/** Analyzed after seeding, so the checks' first queries get good plans. */
const TABLES = [
  'applications',
  'predictions',
  'outcomes',
  'decisions',
  'requests',
  'job_runs',
  'sim_pending_outcomes',
];

function seedValue(seed: number): number {
  if (!Number.isFinite(seed)) throw new Error(`invalid seed ${seed}`);
  return Math.abs(seed) <= 1 ? seed : (seed % 1_000_003) / 1_000_003;
}

/** The warehouse's clock, which may differ a little from this process's. */
export async function warehouseNow(w: SqlWriter): Promise<Date> {
  const rows = await w.query('SELECT extract(epoch FROM now())::float8 AS now');
  return new Date(Number(rows[0]?.now) * 1000);
}

/**
 * Fills the (empty, freshly created) demo tables with history up to `until`, then returns the row counts.
 * The data is generated inside the warehouse by the same statement appendBatch runs, one range covering
 * the whole history, so batches appended afterwards continue it seamlessly.
 */
export async function seedHistory(
  w: SqlWriter,
  schema: string,
  opts: SeedOptions = {},
): Promise<BatchCounts> {
  const s = quoteSchema(schema);
  const days = opts.days ?? 35;
  if (!(days > 0 && days <= 3650)) throw new Error(`invalid number of days ${days}`);
  const until = opts.until ?? (await warehouseNow(w));
  if (Number.isNaN(until.getTime())) throw new Error('invalid end of history');

  // Literals rather than parameters: setseed only affects its own session, so it has to run in the same
  // simple-protocol script as the statement (a pool may hand each query() a different connection).
  // The script runs as one implicit transaction: a failed seed leaves the tables as they were.
  const t1 = `'${until.toISOString()}'::timestamptz`;
  const bounds = `SELECT ${t1} - interval '${days} days' AS t0, ${t1} AS t1, ${t1} - interval '${REQUEST_DAYS} days' AS r0`;
  await w.exec(`
    ${demoIndexesSql(schema, 'drop')}
    SELECT setseed(${seedValue(opts.seed ?? 0.42)});
    ${generateSql(schema, bounds)};
    ${demoIndexesSql(schema, 'create')}
    ${TABLES.map((t) => `ANALYZE ${s}.${t};`).join('\n')}
  `);

  const rows = await w.query(`
    SELECT (SELECT count(*) FROM ${s}.applications)::int AS applications,
           (SELECT count(*) FROM ${s}.predictions)::int AS predictions,
           (SELECT count(*) FROM ${s}.decisions)::int AS decisions,
           (SELECT count(*) FROM ${s}.outcomes)::int AS outcomes,
           (SELECT count(*) FROM ${s}.requests)::int AS requests,
           (SELECT count(*) FROM ${s}.job_runs)::int AS "jobRuns"`);
  return toCounts(rows[0]);
}
