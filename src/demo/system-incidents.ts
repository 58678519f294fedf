import type { SqlWriter } from '../warehouse/types.js';

/**
 * The rewrites behind the system and business incidents (jobs, latency, kpi). Each one backs up the rows it is
 * about to consider in a side table first, and rewrites only the rows whose backup it just wrote (the
 * RETURNING of the INSERT ... ON CONFLICT DO NOTHING): a row is never rewritten twice, and switching off
 * writes back exactly what was there.
 */

/** The failure status of the demo's job runs: its feeder writes 'success' and, about 1 % of the time, this. */
export const FAILED_STATUS = 'failed';
/**
 * Slow requests take this many times longer: the usual p95 (about 0.23 s) becomes about 1.85 s, well above
 * the 500 ms objective. A power of two, so the scaled latencies are exact in floating point.
 */
export const LATENCY_FACTOR = 8;
/**
 * The share of approvals the kpi incident turns into rejections: the approval rate drops by 30 % (relative).
 * At the demo's 30 decisions an hour only the 1d window has the rows to tell a drop from noise: there the
 * upper bound of a 30 % lower day is 0.075 under the baseline, 4.6 times the spread of that gap, so the alert
 * fires at the next check; a 20 % drop's bound is only 0.015 under (0.8 times the spread), and fired on 80 %
 * of simulated days (docs/business-layer.md).
 */
export const APPROVAL_DROP = 0.3;

/** Rows to rewrite: a condition on the table's time column, with its bound parameters. */
export interface Rows {
  where: string;
  params: string[];
}

/** The rows of the last `interval` (an SQL interval literal such as '1 hour'). */
export function recent(column: string, interval: string): Rows {
  return { where: `${column} >= now() - interval '${interval}' AND ${column} <= now()`, params: [] };
}

/** The rows of a batch: (from, to] as the feeder writes them. */
export function batch(column: string, from: Date, to: Date): Rows {
  return {
    where: `${column} > $1::timestamptz AND ${column} <= $2::timestamptz`,
    params: [from.toISOString(), to.toISOString()],
  };
}

export const BACKUP_TABLES_SQL = (s: string) => `
  CREATE TABLE IF NOT EXISTS ${s}.sim_backup_jobs (id bigint PRIMARY KEY, status text);
  CREATE TABLE IF NOT EXISTS ${s}.sim_backup_latency (id bigint PRIMARY KEY, latency_ms double precision);
  CREATE TABLE IF NOT EXISTS ${s}.sim_backup_kpi (application_id bigint PRIMARY KEY, approved boolean);`;

/** jobs: every run among `rows` finishes with the failure status. */
export async function failRuns(w: SqlWriter, s: string, rows: Rows): Promise<void> {
  await w.query(
    `WITH backed AS (
       INSERT INTO ${s}.sim_backup_jobs (id, status)
       SELECT id, status FROM ${s}.job_runs WHERE ${rows.where}
       ON CONFLICT (id) DO NOTHING RETURNING id)
     UPDATE ${s}.job_runs SET status = '${FAILED_STATUS}' WHERE id IN (SELECT id FROM backed)`,
    rows.params,
  );
}

/** latency: every request among `rows` takes LATENCY_FACTOR times longer. */
export async function slowRequests(w: SqlWriter, s: string, rows: Rows): Promise<void> {
  await w.query(
    `WITH backed AS (
       INSERT INTO ${s}.sim_backup_latency (id, latency_ms)
       SELECT id, latency_ms FROM ${s}.requests WHERE ${rows.where}
       ON CONFLICT (id) DO NOTHING RETURNING id)
     UPDATE ${s}.requests SET latency_ms = latency_ms * ${LATENCY_FACTOR} WHERE id IN (SELECT id FROM backed)`,
    rows.params,
  );
}

/**
 * kpi: APPROVAL_DROP of the approvals among `rows` become rejections. `exact` picks exactly that share (rounded)
 * at random, so switching on lowers the last day's rate by 30 % to the rounding; a batch holds too few
 * decisions for that (often none), so each of its approvals is turned with that probability instead.
 */
export async function rejectApprovals(w: SqlWriter, s: string, rows: Rows, exact: boolean): Promise<void> {
  const picked = exact
    ? `SELECT application_id FROM (
         SELECT application_id, row_number() OVER (ORDER BY random()) AS r, count(*) OVER () AS n
         FROM backed WHERE approved) a
       WHERE r <= round(n * ${APPROVAL_DROP})`
    : `SELECT application_id FROM backed WHERE approved AND random() < ${APPROVAL_DROP}`;
  // Every decision considered is backed up, rejected or not, so a later batch never draws for it again.
  await w.query(
    `WITH backed AS (
       INSERT INTO ${s}.sim_backup_kpi (application_id, approved)
       SELECT application_id, approved FROM ${s}.decisions WHERE ${rows.where}
       ON CONFLICT (application_id) DO NOTHING RETURNING application_id, approved)
     UPDATE ${s}.decisions SET approved = false WHERE application_id IN (${picked})`,
    rows.params,
  );
}

const RESTORE = {
  jobs: { table: 'job_runs', backup: 'sim_backup_jobs', key: 'id', column: 'status' },
  latency: { table: 'requests', backup: 'sim_backup_latency', key: 'id', column: 'latency_ms' },
  kpi: { table: 'decisions', backup: 'sim_backup_kpi', key: 'application_id', column: 'approved' },
} as const;

/** Switching off: every backed-up value goes back, and the backup is emptied. */
export async function restoreSystem(w: SqlWriter, s: string, incident: keyof typeof RESTORE): Promise<void> {
  const { table, backup, key, column } = RESTORE[incident];
  await w.exec(
    `UPDATE ${s}.${table} t SET ${column} = b.${column} FROM ${s}.${backup} b WHERE t.${key} = b.${key};
     DELETE FROM ${s}.${backup};`,
  );
}
