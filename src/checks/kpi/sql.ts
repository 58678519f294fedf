import { intervalParam } from '../../config/types.js';
import type { Queryable, Row } from '../../warehouse/types.js';
import { toSampleValue, ValueError } from '../values.js';
import type { Measure, PeriodSpan } from './periods.js';

/**
 * The SQL KPI: the operator's statement, run once per window and period inside the check's one read-only
 * transaction, with the period's start as $1 and end as $2 (timestamptz). The bounds are computed first, by
 * the warehouse, in one statement: within the transaction now() is fixed, so every period ends where the
 * ratio form's would, and all of them see the same snapshot.
 */

// UTC ISO 8601 text with microseconds: what now() holds, exactly, whatever the session's DateStyle.
const utc = (expr: string) => `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export interface BoundsStatement {
  sql: string;
  params: string[];
}

export function boundsStatement(spans: readonly PeriodSpan[]): BoundsStatement {
  const params: string[] = [];
  const at = (agoMs: number) => {
    if (agoMs === 0) return utc('now()');
    params.push(intervalParam(agoMs));
    return utc(`now() - $${params.length}::interval`);
  };
  const cols = spans.flatMap((s, i) => [`${at(s.startAgoMs)} AS s_${i}`, `${at(s.endAgoMs)} AS e_${i}`]);
  return { sql: `SELECT ${cols.join(', ')}`, params };
}

/** One row, one value column (or `value` and `volume`): anything else is the statement's mistake. */
function readRow(rows: Row[], span: PeriodSpan): Measure {
  if (rows.length === 0) return { span, value: null, volume: null, skippedBecause: 'null_value' };
  if (rows.length > 1) {
    throw new ValueError(
      `the KPI statement returned ${rows.length} rows for window ${span.window.label} (${span.period}); it must return one row: aggregate it, e.g. SELECT avg(...)`,
    );
  }
  const row = rows[0] as Row;
  const columns = Object.keys(row);
  const single = columns.length === 1;
  const extra = columns.filter((c) => c !== 'value' && c !== 'volume');
  if (!single && (extra.length > 0 || !columns.includes('value'))) {
    throw new ValueError(
      `the KPI statement returned columns ${columns.join(', ')}; return one column (the KPI), or columns named value and volume`,
    );
  }
  const value = toSampleValue(
    row[single ? (columns[0] as string) : 'value'],
    single ? (columns[0] as string) : 'value',
  );
  const rawVolume = !single && 'volume' in row ? toSampleValue(row.volume, 'volume') : null;
  const volume = rawVolume === null || Number.isNaN(rawVolume) ? null : rawVolume;
  if (value === null) return { span, value: null, volume, skippedBecause: 'null_value' };
  if (Number.isNaN(value)) return { span, value: null, volume, skippedBecause: 'not_a_number' };
  return { span, value, volume };
}

export async function runSql(
  q: Queryable,
  userSql: string,
  bounds: BoundsStatement,
  spans: readonly PeriodSpan[],
): Promise<Measure[]> {
  const b = (await q.query(bounds.sql, bounds.params))[0] as Row;
  const out: Measure[] = [];
  for (const [i, span] of spans.entries()) {
    out.push(readRow(await q.query(userSql, [b[`s_${i}`], b[`e_${i}`]]), span));
  }
  return out;
}
