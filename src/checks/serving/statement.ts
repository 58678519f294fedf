import type { Window } from '../../config/types.js';
import { SqlBuilder } from '../../sql/builder.js';
import { type Dialect, postgres } from '../../sql/dialect.js';
import { quoteIdent, quoteQualified } from '../../sql/identifiers.js';
import { LATENCY_UNITS, type ServingEntry } from './section.js';

/**
 * The one statement of a service: for every window, requests, errors, requests with a latency, slow requests
 * and the 50th, 95th and 99th latency percentiles, from one pass over the widest window's rows.
 *
 * Windows are [now() - w, now()). A request is an error when its status is at or above error_min (default
 * 500) or one of error_values (compared as text); a NULL status is not an error. Latency is converted to
 * seconds in the statement; a NULL latency counts as a request but not in the percentiles or the slow ratio,
 * whose denominator is the requests with a latency. Slow means strictly above the objective.
 * percentile_cont over an array of fractions sorts each window once for all three percentiles.
 */

export const PERCENTILES = [
  ['50', 0.5],
  ['95', 0.95],
  ['99', 0.99],
] as const;

export interface ServingStatement {
  text: string;
  params: unknown[];
  windows: Window[];
  hasStatus: boolean;
}

export function servingStatement(s: ServingEntry, dialect: Dialect = postgres): ServingStatement {
  const p = new SqlBuilder(dialect);
  const table = quoteQualified(s.table);
  const ts = quoteIdent(s.timestamp);
  const divisor = LATENCY_UNITS[s.latency.unit];
  const latency = `r.${quoteIdent(s.latency.column)}::float8${divisor === 1 ? '' : ` / ${divisor}`}`;
  let error = 'false';
  if (s.status !== undefined) {
    const col = `r.${quoteIdent(s.status.column)}`;
    error =
      s.status.error_values !== undefined
        ? `coalesce(${col}::text = ANY(${p.add(s.status.error_values.map(String), 'text[]')}), false)`
        : `coalesce(${col} >= ${p.add(s.status.error_min ?? 500, 'float8')}, false)`;
  }
  const objective = p.add(s.objective / 1000, 'float8');
  const fractions = p.add(
    PERCENTILES.map(([, f]) => f),
    'float8[]',
  );
  const widest = Math.max(...s.windows.map((w) => w.ms));
  const aggregates: string[] = [];
  const outputs: string[] = [];
  s.windows.forEach((w, i) => {
    // The widest window is the statement's own WHERE: no filter needed.
    const inW = w.ms === widest ? 'true' : `t >= ${p.cutoff(w.ms)}`;
    aggregates.push(
      `count(*) FILTER (WHERE ${inW}) AS requests_${i}`,
      `count(*) FILTER (WHERE ${inW} AND err) AS errors_${i}`,
      `count(l) FILTER (WHERE ${inW}) AS timed_${i}`,
      `count(*) FILTER (WHERE ${inW} AND l > ${objective}) AS slow_${i}`,
      // Once per window, subscripted outside: PostgreSQL does not share identical ordered-set aggregates, and
      // spelled out per percentile it sorted each window three times (1.0-1.1 s against 0.6 s, 1,000,000 rows).
      `percentile_cont(${fractions}) WITHIN GROUP (ORDER BY l) FILTER (WHERE ${inW}) AS pct_${i}`,
    );
    outputs.push(
      ...['requests', 'errors', 'timed', 'slow'].map((c) => `${c}_${i}`),
      ...PERCENTILES.map(([label], k) => `pct_${i}[${k + 1}] AS p${label}_${i}`),
    );
  });
  const text = `SELECT ${outputs.join(', ')}
FROM (
  SELECT
    ${aggregates.join(',\n    ')}
  FROM (
    SELECT r.${ts} AS t, ${latency} AS l, ${error} AS err
    FROM ${table} r
    WHERE r.${ts} >= ${p.cutoff(widest)} AND r.${ts} < now()
  ) requests
) per_window`;
  return { text, params: p.params, windows: s.windows, hasStatus: s.status !== undefined };
}
