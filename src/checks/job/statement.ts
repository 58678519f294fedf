import type { Window } from '../../config/types.js';
import { SqlBuilder } from '../../sql/builder.js';
import { type Dialect, postgres } from '../../sql/dialect.js';
import { quoteIdent, quoteQualified } from '../../sql/identifiers.js';
import type { JobEntry } from './section.js';

/**
 * The one statement of a job: run counts by outcome for every window, last success, last duration and runs in
 * progress, all aggregates over one pass of the job's recent rows; the p95 duration from the last day's runs
 * in a sub-select of its own.
 *
 * Outcome of a run: running while its end time is NULL; else success when its status is one of the success
 * values (compared as text), else failure (a NULL status included). Runs stamped in the future (a writer with a
 * skewed clock) are left out everywhere.
 *
 * Rows read: runs started in [now() - span, now()), plus runs that ended since then, plus every unfinished run
 * (in progress means ever started and never finished). span is the widest window, at least the 1 day of the
 * p95 duration. Any run outside that set ended before every run in it, so the newest success found in the
 * set is the newest of the table, and so is the newest end of the last day; only when there is none does a
 * sub-select look further back (an InitPlan that COALESCE evaluates only then).
 */

export const P95_SPAN_MS = 86_400_000;

export interface JobStatement {
  text: string;
  params: unknown[];
  windows: Window[];
}

export function jobStatement(j: JobEntry, dialect: Dialect = postgres): JobStatement {
  const p = new SqlBuilder(dialect);
  const table = quoteQualified(j.table);
  const started = quoteIdent(j.started_column);
  const finished = quoteIdent(j.finished_column);
  const jobValue = j.job_column !== undefined ? p.add(String(j.job ?? j.name)) : undefined;
  // Untyped parameter: Postgres gives it the job column's type, so a text or an integer column both work.
  const jobFilter = (alias: string) =>
    j.job_column !== undefined ? `${alias}.${quoteIdent(j.job_column)} = ${jobValue} AND ` : '';
  const successValues = p.add(j.success_values.map(String), 'text[]');
  const ok = (alias: string) =>
    `coalesce(${alias}.${quoteIdent(j.status_column)}::text = ANY(${successValues}), false)`;
  const spanMs = Math.max(P95_SPAN_MS, ...j.windows.map((w) => w.ms));
  const span = p.cutoff(spanMs);
  const lastDay = `f >= ${p.cutoff(P95_SPAN_MS)} AND f < now()`;

  const perWindow = j.windows.flatMap((w, i) => {
    const c = p.cutoff(w.ms);
    return [
      `count(*) FILTER (WHERE s >= ${c} AND f IS NOT NULL AND ok) AS success_${i}`,
      `count(*) FILTER (WHERE s >= ${c} AND f IS NOT NULL AND NOT ok) AS failure_${i}`,
      `count(*) FILTER (WHERE s >= ${c} AND f IS NULL) AS running_${i}`,
    ];
  });
  // The same job, further back: only reached when the rows read hold no finished run (or no success).
  const older = (what: string, where: string, order = '') =>
    `(SELECT ${what} FROM ${table} t WHERE ${jobFilter('t')}t.${started} < now() AND t.${finished} < now()${where}${order})`;
  const epoch = (x: string) => dialect.epochSeconds(x);
  const seconds = (later: string, earlier: string) => dialect.secondsBetween(later, earlier);

  const text = `SELECT
  count(*) FILTER (WHERE f IS NULL) AS in_progress,
  ${perWindow.join(',\n  ')},
  coalesce(max(${epoch('f')}) FILTER (WHERE ok AND f < now()),
           ${older(`max(${epoch(`t.${finished}`)})`, ` AND ${ok('t')}`)}) AS last_success,
  -- The newest end as [end, duration]: max() over arrays picks the newest run in the same pass, no sort.
  -- Only over the last day's ends (the p95's rows): building an array per row is not free.
  coalesce((max(ARRAY[${epoch('f')}, ${seconds('f', 's')}]) FILTER (WHERE ${lastDay}))[2],
           ${older(
             seconds(`t.${finished}`, `t.${started}`),
             '',
             ` ORDER BY t.${finished} DESC, t.${finished} - t.${started} DESC LIMIT 1`,
           )}) AS last_duration,
  -- A scalar sub-select (an InitPlan), not an aggregate of this pass: percentile_cont cannot be split into
  -- partial aggregates, and beside it every other aggregate would run in one process. Apart, the pass runs in
  -- parallel workers and the percentile sorts only the last day's durations.
  (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY ${seconds(`d.${finished}`, `d.${started}`)})
   FROM ${table} d
   WHERE ${jobFilter('d')}d.${started} < now() AND d.${finished} >= ${p.cutoff(P95_SPAN_MS)} AND d.${finished} < now()
  ) AS p95_duration
FROM (
  SELECT r.${started} AS s, r.${finished} AS f, ${ok('r')} AS ok
  FROM ${table} r
  WHERE ${jobFilter('r')}r.${started} < now()
    AND (r.${started} >= ${span} OR r.${finished} >= ${span} OR r.${finished} IS NULL)
) runs`;
  return { text, params: p.params, windows: j.windows };
}
