import { intervalParam } from '../../config/types.js';
import { quoteIdent, quoteQualified } from '../../sql/identifiers.js';
import type { Queryable } from '../../warehouse/types.js';
import { StatementParams } from '../cutoffs.js';
import { toSampleValue } from '../values.js';
import type { Measure, PeriodSpan } from './periods.js';

/**
 * The declarative KPI: share of the rows (matching `filter`) whose `numerator` holds, per period. Every
 * window's current and baseline period come from ONE statement: one pass over the rows of the current and
 * the baseline stretch, each period a pair of count(*) FILTER (...). numerator and filter are SQL
 * expressions from the operator's config, trusted like custom queries and run in the same read-only
 * transaction; the table and timestamp are identifiers and are quoted.
 */

export interface RatioSpec {
  table: string;
  timestamp: string;
  numerator: string;
  filter?: string | undefined;
}

export interface RatioStatement {
  sql: string;
  params: unknown[];
}

export function ratioStatement(spec: RatioSpec, spans: readonly PeriodSpan[]): RatioStatement {
  const p = new StatementParams();
  const selects = spans.flatMap((s, i) => {
    // A current period ends at now(), which the scan's WHERE already enforces.
    const within =
      s.endAgoMs === 0
        ? `kpi_ts >= ${p.cutoff(s.startAgoMs)}`
        : `kpi_ts >= ${p.cutoff(s.startAgoMs)} AND kpi_ts < ${p.cutoff(s.endAgoMs)}`;
    return [
      `count(*) FILTER (WHERE ${within}) AS n_${i}`,
      `count(*) FILTER (WHERE ${within} AND kpi_hit) AS k_${i}`,
    ];
  });
  const ts = quoteIdent(spec.timestamp);
  // Only the rows of the two stretches the periods cover: the current windows, [now - widest, now), and the
  // baseline ones, the same stretch one baseline period earlier. The config keeps every window within the
  // baseline period, so the two never overlap; with an index on the timestamp, Postgres reads both ranges
  // (a BitmapOr) and skips the days in between, most of the table with the default 7d baseline.
  const widest = Math.max(...spans.map((s) => s.startAgoMs - s.endAgoMs));
  const baselineAgo = Math.max(...spans.map((s) => s.endAgoMs));
  const ago = (ms: number) => p.add(intervalParam(ms), 'interval');
  const stretches = [`${ts} >= now() - ${ago(widest)} AND ${ts} < now()`];
  if (baselineAgo > 0) {
    stretches.push(`${ts} >= now() - ${ago(baselineAgo + widest)} AND ${ts} < now() - ${ago(baselineAgo)}`);
  }
  // The numerator is evaluated once per row, in the sub-select; a NULL numerator counts in the denominator
  // and not in the numerator (FILTER keeps only rows where the condition is true).
  const sql = `SELECT ${selects.join(',\n  ')}
FROM (
  SELECT ${ts} AS kpi_ts, (${spec.numerator}) AS kpi_hit
  FROM ${quoteQualified(spec.table)}
  WHERE (${stretches.join(' OR ')})${spec.filter !== undefined ? `\n    AND (${spec.filter})` : ''}
) kpi_rows`;
  return { sql, params: p.values };
}

export async function runRatio(
  q: Queryable,
  st: RatioStatement,
  spans: readonly PeriodSpan[],
): Promise<Measure[]> {
  const row = (await q.query(st.sql, st.params))[0] ?? {};
  return spans.map((span, i) => {
    const n = toSampleValue(row[`n_${i}`], `n_${i}`) ?? 0;
    const k = toSampleValue(row[`k_${i}`], `k_${i}`) ?? 0;
    return n === 0
      ? { span, value: null, volume: 0, skippedBecause: 'zero_denominator' }
      : { span, value: k / n, volume: n };
  });
}
